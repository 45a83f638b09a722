/**
 * Checks of the shape of untrusted JSON data that never recurse: a record can nest arrays and
 * objects as deep as it likes (V8's JSON.parse is iterative and parses 200,000 levels), while
 * JSON.stringify, zod and any recursive walker overflow the stack a few thousand levels down. So
 * these walks keep an explicit stack and stop as soon as the bound is passed; what they have
 * bounded, the rest of the code may then serialise or recurse over.
 *
 * Containers are what JSON.stringify descends into: arrays (by index) and other objects (by own
 * enumerable string keys). A cycle, which only a JavaScript caller can build, is simply "too deep".
 */

/** Text that PostgreSQL cannot store in text or jsonb: NUL, and UTF-16 that is not well-formed. */
// With the `u` flag a surrogate pair is one code point, so [\uD800-\uDFFF] matches lone halves only.
const UNSTORABLE = /[\0\uD800-\uDFFF]/u;

/** A path inside a value, outermost first: object keys and array indexes. */
export type JsonPath = ReadonlyArray<string | number>;

export type JsonShapeProblem =
  | { readonly kind: 'too-deep' }
  /** A string value (`inKey: false`) or an object key (`inKey: true`) PostgreSQL cannot store. */
  | { readonly kind: 'unstorable'; readonly path: JsonPath; readonly inKey: boolean; readonly codePoint: number };

interface Frame {
  readonly value: object;
  /** 1 for the outermost container. */
  readonly depth: number;
  readonly parent: Frame | undefined;
  readonly key: string | number | undefined;
}

/**
 * The first problem found in `value`: nesting deeper than `maxDepth` containers (the outermost
 * container is level 1, a scalar is level 0), or, with `storable`, a key or a string anywhere
 * that holds NUL or a lone surrogate. Costs one stack frame object per container and one regex
 * test per key and string; nothing for other scalars.
 */
export function findJsonShapeProblem(value: unknown, maxDepth: number, storable: boolean): JsonShapeProblem | undefined {
  if (typeof value === 'string') return storable ? unstorableIn(value, undefined, undefined, false) : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  if (maxDepth < 1) return { kind: 'too-deep' };
  // The stack is made only when a container holds a container: flat metadata costs no array.
  let stack: Frame[] | undefined;
  for (let frame: Frame | undefined = { value, depth: 1, parent: undefined, key: undefined }; frame; frame = stack?.pop()) {
    const container = frame.value;
    if (Array.isArray(container)) {
      for (let i = 0; i < container.length; i++) {
        const child: unknown = container[i];
        if (typeof child === 'string') {
          if (storable && UNSTORABLE.test(child)) return unstorableIn(child, frame, i, false);
        } else if (typeof child === 'object' && child !== null) {
          if (frame.depth >= maxDepth) return { kind: 'too-deep' };
          (stack ??= []).push({ value: child, depth: frame.depth + 1, parent: frame, key: i });
        }
      }
    } else {
      for (const key of Object.keys(container)) {
        if (storable && UNSTORABLE.test(key)) return unstorableIn(key, frame, key, true);
        const child = (container as Record<string, unknown>)[key];
        if (typeof child === 'string') {
          if (storable && UNSTORABLE.test(child)) return unstorableIn(child, frame, key, false);
        } else if (typeof child === 'object' && child !== null) {
          if (frame.depth >= maxDepth) return { kind: 'too-deep' };
          (stack ??= []).push({ value: child, depth: frame.depth + 1, parent: frame, key });
        }
      }
    }
  }
  return undefined;
}

/** Whether `value` nests deeper than `maxDepth` arrays and objects (see findJsonShapeProblem). */
export function nestsDeeperThan(value: unknown, maxDepth: number): boolean {
  return findJsonShapeProblem(value, maxDepth, false) !== undefined;
}

function unstorableIn(text: string, parent: Frame | undefined, key: string | number | undefined, inKey: boolean): JsonShapeProblem | undefined {
  const found = UNSTORABLE.exec(text);
  if (!found) return undefined;
  const path: Array<string | number> = key === undefined ? [] : [key];
  for (let f = parent; f && f.key !== undefined; f = f.parent) path.unshift(f.key);
  return { kind: 'unstorable', path, inKey, codePoint: found[0].codePointAt(0)! };
}

const PLAIN_KEY = /^[A-Za-z_$][\w$]{0,39}$/;

/**
 * `base` followed by `path` as a reader would write it: `metadata.order.lines[0]`, with keys that
 * are not plain words quoted and escaped (`metadata["a b"]`), and long keys shortened, so the
 * result is printable and short whatever the keys hold.
 */
export function formatJsonPath(base: string, path: JsonPath): string {
  let out = base;
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (PLAIN_KEY.test(part)) out += `.${part}`;
    else out += `[${JSON.stringify(part.length > 40 ? `${part.slice(0, 40)}…` : part)}]`;
  }
  return out;
}

/** "U+0000", "U+D800": how a code point is named in a reason. */
export function codePointName(codePoint: number): string {
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}
