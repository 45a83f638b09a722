import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LineCounter, isMap, isScalar, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { ConfigError } from '../domain/errors.js';
import {
  CODE_OUTCOMES,
  createResultCodeTable,
  normaliseResultCode,
  type ResultCodeRule,
  type ResultCodeTable,
} from '../domain/result-codes.js';

/**
 * The table shipped with the package. Resolved from this module, so it is found from src/config
 * (tests, tsx) and from dist/config (the built CLI) alike: both sit two levels below the root.
 */
export const SHIPPED_RESULT_CODES_FILE = fileURLToPath(new URL('../../config/result-codes.yaml', import.meta.url));

const RESULT_CODES_FILE_NAME = 'result-codes.yaml';

const ruleSchema = z
  .object({
    outcome: z.enum(CODE_OUTCOMES as [string, ...string[]]),
    escalate: z.boolean().optional(),
    playbook: z.string().trim().min(1, 'must not be empty').optional(),
    slowDown: z.boolean().optional(),
    message: z.string().optional(),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.outcome === 'failed') {
      if (rule.escalate === undefined) {
        ctx.addIssue({ code: 'custom', path: ['escalate'], message: 'is required for outcome failed (true or false)' });
      }
      if (rule.playbook === undefined) {
        ctx.addIssue({ code: 'custom', path: ['playbook'], message: 'is required for outcome failed: say what a human should do' });
      }
    } else if (rule.escalate !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['escalate'], message: `applies to outcome failed only, not ${rule.outcome}` });
    }
    if (rule.slowDown !== undefined && rule.outcome !== 'retry') {
      ctx.addIssue({ code: 'custom', path: ['slowDown'], message: `applies to outcome retry only, not ${rule.outcome}` });
    }
  });

const CODE_PATTERN = /^[A-Z][A-Z0-9_]*$/;

const fileSchema = z
  .object({
    version: z.literal(1).optional(),
    codes: z.record(z.string(), ruleSchema),
  })
  .strict();

/** Codes are checked apart from the schema so that they are reported even when a rule is wrong too. */
function codeProblem(code: string): string | undefined {
  if (!CODE_PATTERN.test(code)) return 'a code is upper case letters, digits and _';
  const normalised = normaliseResultCode(code);
  if (normalised !== code) return `write the code without its v2 prefix, as ${normalised}: prefixed codes match it`;
  return undefined;
}

export interface ParsedResultCodeFile {
  readonly rules: ReadonlyMap<string, ResultCodeRule>;
  /** `file:line:column: path: problem`, one per problem found. */
  readonly problems: readonly string[];
}

/** Parses and validates one file's text; never throws for a bad file, it reports problems. */
export function parseResultCodeFile(text: string, fileName: string): ParsedResultCodeFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number | undefined): string => {
    if (offset === undefined) return fileName;
    const { line, col } = lineCounter.linePos(offset);
    return `${fileName}:${line}:${col}`;
  };

  if (doc.errors.length > 0) {
    return { rules: new Map(), problems: doc.errors.map((e) => `${at(e.pos[0])}: ${firstLine(e.message)}`) };
  }

  const value: unknown = doc.toJS();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { rules: new Map(), problems: [`${at(undefined)}: expected a mapping with a \`codes:\` key`] };
  }
  const problems: string[] = [];
  const codes = (value as { codes?: unknown }).codes;
  if (codes !== null && typeof codes === 'object' && !Array.isArray(codes)) {
    for (const code of Object.keys(codes)) {
      const problem = codeProblem(code);
      if (problem) problems.push(`${at(offsetOf(doc, ['codes', code]))}: codes.${code}: ${problem}`);
    }
  }
  const parsed = fileSchema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path.map(String);
      const shown = path.length > 0 ? `${path.join('.')}: ` : '';
      problems.push(`${at(offsetOf(doc, path))}: ${shown}${issue.message}`);
    }
  }
  if (!parsed.success || problems.length > 0) return { rules: new Map(), problems };

  const rules = new Map<string, ResultCodeRule>();
  for (const [code, rule] of Object.entries(parsed.data.codes)) {
    rules.set(code, {
      outcome: rule.outcome as ResultCodeRule['outcome'],
      escalate: rule.escalate ?? false,
      slowDown: rule.slowDown ?? false,
      playbook: rule.playbook,
      message: rule.message,
      source: at(offsetOf(doc, ['codes', code])),
    });
  }
  return { rules, problems: [] };
}

/**
 * Loads the files in order, later entries replacing earlier ones code by code (an operator's
 * entry replaces the shipped one whole, so a rule is always read in one place). Every problem in
 * every file is reported at once, as one ConfigError.
 */
function loadResultCodeFiles(files: readonly string[]): ResultCodeTable {
  const problems: string[] = [];
  const merged = new Map<string, ResultCodeRule>();
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      problems.push(`${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
      continue;
    }
    const parsed = parseResultCodeFile(text, file);
    problems.push(...parsed.problems);
    for (const [code, rule] of parsed.rules) merged.set(code, rule);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return createResultCodeTable(merged);
}

/**
 * The shipped table, then `<configDir>/result-codes.yaml` when there is one and it is not the
 * shipped file itself (CONFIG_DIR defaults to the package's own config/), then any extra files.
 */
export function loadResultCodeTable(options: { configDir?: string; extraFiles?: readonly string[] } = {}): ResultCodeTable {
  const files = [SHIPPED_RESULT_CODES_FILE];
  if (options.configDir !== undefined) {
    const operatorFile = join(options.configDir, RESULT_CODES_FILE_NAME);
    if (existsSync(operatorFile) && realpathSync(operatorFile) !== realpathSync(SHIPPED_RESULT_CODES_FILE)) {
      files.push(operatorFile);
    }
  }
  files.push(...(options.extraFiles ?? []));
  return loadResultCodeFiles(files);
}

/**
 * The offset of the key of the deepest entry on `path` that exists: a problem with a value points
 * at its key's line, and a missing key at its parent's.
 */
function offsetOf(doc: Document, path: readonly string[]): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const segment of path) {
    if (!isMap(node)) break;
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === segment);
    if (!pair) break;
    offset = rangeStart(pair.key) ?? offset;
    node = pair.value;
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null | undefined)?.range?.[0];
}

function firstLine(message: string): string {
  return message.split('\n', 1)[0] ?? message;
}
