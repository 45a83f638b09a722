/** What a command may touch of its surroundings, so commands are testable without a process. */
export interface CommandIo {
  out(line: string): void;
  err(line: string): void;
  env: NodeJS.ProcessEnv;
}

export const processIo: CommandIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
};

/**
 * Parses a command's arguments, or says why not: a parse error prints the usage to stderr (exit
 * 2), `--help` prints it to stdout (exit 0). Returns the parsed values, or the exit code.
 */
export function parseOrUsage<T extends { help?: boolean }>(io: CommandIo, usage: readonly string[], parse: () => T): T | number {
  let parsed: T;
  try {
    parsed = parse();
  } catch (err) {
    io.err((err as Error).message);
    for (const line of usage) io.err(line);
    return 2;
  }
  if (parsed.help) {
    for (const line of usage) io.out(line);
    return 0;
  }
  return parsed;
}
