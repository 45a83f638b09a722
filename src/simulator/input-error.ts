/** A setting, a scenario or an id the sandbox cannot play; `status` is what the admin API answers. */
export class SandboxInputError extends Error {
  readonly problems: readonly string[];
  readonly status: number;
  constructor(problems: readonly string[], status = 400) {
    super(problems.join('; '));
    this.name = 'SandboxInputError';
    this.problems = problems;
    this.status = status;
  }
}
