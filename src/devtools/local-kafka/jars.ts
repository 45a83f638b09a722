/**
 * The broker's jars: fetched from Maven Central by scripts/kafka-fetch.sh (from scripts/kafka/pom.xml)
 * into <repo>/.cache/kafka/libs, and found there. Why these jars: docs/kafka.md.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCollecting, tail } from './run-command.js';

// This file runs from src/devtools/local-kafka/ (vitest, tsx) and from dist/devtools/local-kafka/
// (after tsc); in both the repo root is three levels above this file's directory.
export const defaultRepoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export function kafkaLibsDir(repoRoot: string = defaultRepoRoot): string {
  return join(repoRoot, '.cache', 'kafka', 'libs');
}

/**
 * Makes sure the broker jars for the current scripts/kafka/pom.xml are in .cache/kafka/libs,
 * running scripts/kafka-fetch.sh (Maven) only when they are missing or were fetched for another pom.
 * Returns the libs dir.
 */
export async function ensureKafkaJars(
  opts: { repoRoot?: string; log?: (msg: string) => void } = {},
): Promise<string> {
  const repoRoot = opts.repoRoot ?? defaultRepoRoot;
  const log = opts.log ?? (() => {});
  const libsDir = kafkaLibsDir(repoRoot);
  const pomPath = join(repoRoot, 'scripts', 'kafka', 'pom.xml');
  if (await libsMatchPom(libsDir, pomPath)) return libsDir;

  const script = join(repoRoot, 'scripts', 'kafka-fetch.sh');
  log(`fetching Kafka broker jars with ${script} (Maven Central) ...`);
  const { code, output } = await runCollecting('bash', [script], repoRoot, log);
  if (code !== 0) {
    throw new Error(
      `scripts/kafka-fetch.sh failed (exit ${code}); it needs mvn and Maven Central. Output:\n${tail(output)}`,
    );
  }
  if (!(await libsMatchPom(libsDir, pomPath))) {
    throw new Error(`scripts/kafka-fetch.sh succeeded but ${libsDir}/.complete does not match ${pomPath}`);
  }
  return libsDir;
}

/** The marker written last by kafka-fetch.sh names the sha256 of the pom the jars belong to. */
async function libsMatchPom(libsDir: string, pomPath: string): Promise<boolean> {
  const [marker, pom] = await Promise.all([
    readFile(join(libsDir, '.complete'), 'utf8').catch(() => undefined),
    readFile(pomPath).catch(() => undefined),
  ]);
  if (marker === undefined || pom === undefined) return false;
  const sha = createHash('sha256').update(pom).digest('hex');
  return marker.split('\n').includes(`pom-sha256=${sha}`);
}
