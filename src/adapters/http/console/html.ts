/**
 * HTML built by a tagged template that escapes every interpolated value unless it is already
 * markup made here: `html\`<td>${refund.id}</td>\`` cannot inject, whatever the id holds. Pages
 * put attribute values in double quotes; the escaper covers both quote kinds anyway.
 */

const MARK: unique symbol = Symbol('html');

/** Markup built by `html` (or, for constant text only, `trusted`): inserted as it is. */
export interface Html {
  readonly [MARK]: true;
  readonly text: string;
}

const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;', '`': '&#96;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

function isHtml(value: unknown): value is Html {
  return typeof value === 'object' && value !== null && (value as Partial<Html>)[MARK] === true;
}

/** Markup from a constant of this codebase (never from data): the one way around escaping. */
export function trusted(text: string): Html {
  return { [MARK]: true, text };
}

/**
 * What an interpolated value becomes: markup as it is; an array, each item in turn; nothing for
 * null, undefined and false (so `${cond && html\`…\`}` works); anything else as escaped text.
 */
function render(value: unknown): string {
  if (isHtml(value)) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let text = strings[0]!;
  for (let i = 0; i < values.length; i++) text += render(values[i]) + strings[i + 1]!;
  return trusted(text);
}
