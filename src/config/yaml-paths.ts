import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document } from 'yaml';

/**
 * Where a problem in a YAML configuration file is: a path into the document (`routes[2].match`)
 * shown to the operator, and the line it is on. Shared by routing.yaml and merchants.yaml.
 */

export type Path = readonly (string | number)[];

/** A problem found in a file's value, at a path into it. */
export interface Problem {
  readonly path: Path;
  readonly message: string;
}

/** What a schema issue carries (zod's shape, kept structural so this file needs no zod). */
interface SchemaIssue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly keys?: readonly string[];
}

/**
 * A schema's issues as problems: an unknown key is reported at its own path (so its line is
 * shown) with `knownKeysHint(parentPath)` naming the keys allowed there.
 */
export function schemaProblems(issues: readonly SchemaIssue[], knownKeysHint: (path: Path) => string): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    const path = issue.path as Path;
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys ?? []) problems.push({ path: [...path, key], message: `unknown key "${key}"${knownKeysHint(path)}` });
    } else {
      problems.push({ path, message: issue.message });
    }
  }
  return problems;
}

/** A configuration file read as YAML: its value, or its syntax errors, and where a path is. */
export interface YamlFile {
  /** `file:line: problem` for each syntax error (with `syntaxPrefix` before the problem); empty when it parsed. */
  readonly syntaxProblems: readonly string[];
  /** The document as plain values (undefined when it did not parse, or is empty). */
  readonly value: unknown;
  /** `file:line` of the deepest node on `path` that exists (`file` when none has a position). */
  where(path: Path): string;
  /** `file:line: path: message` for a problem found in the value. */
  problem(path: Path, message: string): string;
}

/** Parses a routing or merchants file with duplicate keys refused, keeping lines for messages. */
export function readYamlFile(source: string, fileName: string, syntaxPrefix = ''): YamlFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const lineOf = (offset: number | undefined) => (offset === undefined ? fileName : `${fileName}:${lineCounter.linePos(offset).line}`);
  const where = (path: Path) => lineOf(offsetOf(doc, path));
  const syntaxProblems = doc.errors.map((e) => `${lineOf(e.pos[0])}: ${syntaxPrefix}${e.message.split('\n', 1)[0]}`);
  return {
    syntaxProblems,
    value: syntaxProblems.length > 0 ? undefined : (doc.toJS() as unknown),
    where,
    problem(path, message) {
      const shown = formatPath(path);
      return `${where(path)}: ${shown ? `${shown}: ` : ''}${message}`;
    },
  };
}

/**
 * `routes[2].match.reasonCode[1]`; a key that is empty or holds spaces, quotes or brackets is
 * quoted, `merchants[""]`, so it cannot be misread.
 */
export function formatPath(path: Path): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (!/^[^\s"[\]]+$/.test(segment)) out += `[${JSON.stringify(segment)}]`;
    else out += out === '' ? segment : `.${segment}`;
  }
  return out;
}

/**
 * The offset of the deepest node on `path` that exists in the document: a map entry's key, or a
 * list item. A problem with a value points at its line; a missing key at its parent's line.
 */
export function offsetOf(doc: Document, path: Path): number | undefined {
  let node: unknown = doc.contents;
  let offset = rangeStart(node);
  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(segment));
      if (!pair) break;
      offset = rangeStart(pair.key) ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) break;
      offset = rangeStart(item) ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

function rangeStart(node: unknown): number | undefined {
  return (node as { range?: [number, number, number] } | null | undefined)?.range?.[0];
}
