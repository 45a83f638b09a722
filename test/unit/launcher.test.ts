/**
 * The launcher's heap ceiling (docs/operations.md, "Memory"): bin/refund-notifier.js sets
 * `--max-old-space-size=512` on its first line, so every way the service is meant to be started
 * (the file itself, `npm start`, the image's entrypoint) runs with it, and a `node` started with
 * its own ceiling keeps that one. Checked on the real launcher: a preloaded probe reports the heap
 * limit V8 settled on and exits before the CLI runs.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');
const LAUNCHER = join(ROOT, 'bin', 'refund-notifier.js');
const MiB = 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'rn-launcher-'));
const probe = join(dir, 'heap-probe.cjs');
writeFileSync(probe, "process.stdout.write(String(require('v8').getHeapStatistics().heap_size_limit));\nprocess.exit(0);\n");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The heap limit (MiB) of a process started as `command args`, with the probe preloaded. */
async function heapLimitMiB(command: string, args: string[]): Promise<number> {
  const { stdout } = await run(command, args, { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: `--require ${probe}` }, timeout: 30_000 });
  const bytes = Number(stdout.trim());
  expect(Number.isFinite(bytes), `probe printed ${JSON.stringify(stdout)}`).toBe(true);
  return bytes / MiB;
}

// V8 adds the young generation (a few tens of MiB) to the old-space ceiling in heap_size_limit.
const near = (limit: number, oldSpace: number) => limit >= oldSpace && limit <= oldSpace + 128;

describe('the launcher', () => {
  it('names the ceiling on its first line and is executable', () => {
    const first = readFileSync(LAUNCHER, 'utf8').split('\n')[0];
    expect(first).toBe('#!/usr/bin/env -S node --max-old-space-size=512');
    expect(() => accessSync(LAUNCHER, constants.X_OK)).not.toThrow();
  });

  it('gives the service a 512 MB heap ceiling when run itself', async () => {
    const limit = await heapLimitMiB(LAUNCHER, ['--version']);
    expect(near(limit, 512), `heap limit ${limit.toFixed(0)} MiB`).toBe(true);
  });

  it('leaves the ceiling of a node started with its own', async () => {
    const limit = await heapLimitMiB(process.execPath, ['--max-old-space-size=300', LAUNCHER, '--version']);
    expect(near(limit, 300), `heap limit ${limit.toFixed(0)} MiB`).toBe(true);
  });

  it('is what the image and npm start run', () => {
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile);
    expect(entrypoint, 'Dockerfile has an exec-form ENTRYPOINT').not.toBeNull();
    expect(JSON.parse(entrypoint![1]!)).toEqual(['/app/bin/refund-notifier.js']);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string>; bin?: unknown };
    expect(pkg.scripts['start']).toMatch(/^bin\/refund-notifier\.js\b/);
    expect(pkg.bin).toEqual(expect.objectContaining({ 'refund-notifier': expect.stringMatching(/^(\.\/)?bin\/refund-notifier\.js$/) }));
  });
});
