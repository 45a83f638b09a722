import { isMap, isScalar, isSeq, type Document } from 'yaml';

/**
 * Where a problem in a YAML configuration file is: a path into the document (`routes[2].match`)
 * shown to the operator, and the line it is on. Shared by routing.yaml and merchants.yaml.
 */

export type Path = readonly (string | number)[];

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
