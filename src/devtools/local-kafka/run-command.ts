/** Running a short-lived command (Maven, Kafka's StorageTool) and quoting the end of its output in errors. */
import { spawn } from 'node:child_process';

// Enough of a log to show the exception and what led to it, short enough to read in a test failure.
const LOG_TAIL_LINES = 40;

/** Runs a command to completion, collecting stdout+stderr (and streaming lines to `log`). */
export function runCollecting(
  command: string,
  args: string[],
  cwd: string,
  log: (msg: string) => void,
  timeoutMs?: number,
): Promise<{ code: number; output: string }> {
  return new Promise((resolveRun) => {
    const proc = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      output += text;
      for (const line of text.split('\n')) if (line.trim()) log(line.trimEnd());
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            output += `\n(killed after ${timeoutMs} ms)`;
            proc.kill('SIGKILL');
          }, timeoutMs);
    proc.once('error', (err) => {
      if (timer) clearTimeout(timer);
      resolveRun({ code: -1, output: `${output}\ncould not run ${command}: ${err.message}` });
    });
    proc.once('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolveRun({ code: code ?? (signal ? 128 : 1), output });
    });
  });
}

export function tail(text: string): string {
  return text.trimEnd().split('\n').slice(-LOG_TAIL_LINES).join('\n');
}
