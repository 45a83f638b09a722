import { existsSync, readFileSync, readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../domain/errors.js';
import { htmlToText } from './html-text.js';
import { FALLBACK_LOCALE, isolate, localeChain, textDirection } from './locales.js';

/**
 * Email templates: `<dir>/<name>.<locale>.subject.txt`, `.html` and (optional) `.txt`, read once
 * at startup and editable without a release. Without a `.txt`, the plain-text part is derived from
 * the rendered HTML (html-text.ts). The language is a small subset of Mustache, so that an edited
 * template can never run code or reach a value it was not given:
 *
 *   {{ name }}                    a value: HTML-escaped in .html, as is in .txt, one line in subjects
 *   {{#name}} … {{/name}}         shown when name is set (non-empty); repeated for each item of a list
 *   {{^name}} … {{/name}}         shown when name is not set (or an empty list)
 *   {{ . }}                       the current item inside a list of plain values
 *   {{! comment }}                left out
 *
 * A tag alone on its line takes the line with it, so sections do not leave blank lines in .txt.
 * Every template is parsed at load time: an unknown variable, an unclosed section or a stray
 * `{{` stops the service at startup with the file and line, not at the first refund.
 */

export const SHIPPED_TEMPLATES_DIR = fileURLToPath(new URL('../../../config/templates/', import.meta.url));

const TEMPLATE_PARTS = ['subject.txt', 'html', 'txt'] as const;
export type TemplatePart = (typeof TEMPLATE_PARTS)[number];
/** The parts a locale cannot do without; the text part can be derived from the HTML. */
const REQUIRED_PARTS: ReadonlySet<TemplatePart> = new Set(['subject.txt', 'html']);

/** The templates the service renders and the variables each may use. */
const TEMPLATE_SPECS: Readonly<Record<string, readonly string[]>> = {
  'customer-completed': [
    'name',
    'amount',
    'refundId',
    'paymentId',
    'orderRef',
    'date',
    // The merchant's brand (config/merchants.yaml; docs/notifications.md, "The merchant's brand").
    'brand',
    'logoUrl',
    'accent',
    'supportEmail',
    'supportUrl',
    'supportPhone',
    // True when any of supportEmail, supportUrl and supportPhone is set.
    'support',
  ],
  escalation: ['title', 'text', 'severity', 'facts', 'label', 'value', 'playbook', 'sections', 'heading', 'items', 'more', 'note'],
};

export { FALLBACK_LOCALE, localeChain } from './locales.js';

export type TemplateValue = string | number | boolean | null | undefined | TemplateScope | readonly TemplateValue[];
export interface TemplateScope {
  readonly [key: string]: TemplateValue;
}

export interface RenderedTemplate {
  readonly subject: string;
  readonly html: string;
  readonly text: string;
  /** The template locale that was used, after fallback. */
  readonly locale: string;
}

export interface TemplateSet {
  render(name: string, requestedLocale: string | undefined, scope: TemplateScope): RenderedTemplate;
  /** The template locale a requested locale resolves to (`pt-BR` -> `pt-BR`, `pt`, then `en`). */
  resolveLocale(name: string, requestedLocale: string | undefined): string;
  locales(name: string): string[];
}

/** A parsed template: text, variables and sections. */
export type TemplateNode =
  | { readonly t: 'text'; readonly v: string }
  | { readonly t: 'var'; readonly name: string }
  | { readonly t: 'section'; readonly name: string; readonly inverted: boolean; readonly children: readonly TemplateNode[] };

export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * A value inside a Subject header: CR and LF (and the other line breaks and controls) become a
 * space, so no value can end the header and start another (header injection). Nodemailer encodes
 * the header as well; this makes it safe whatever transport the text takes.
 */
export function oneLine(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\r\n\u0085\u2028\u2029\t\v\f]+/g, ' ').replace(/[\u0000-\u001f\u007f]/g, '');
}

/** Parses one template; `allowed` lists the variable names it may use. */
export function parseTemplate(source: string, fileName: string, allowed?: ReadonlySet<string>): { nodes: TemplateNode[]; problems: string[] } {
  const problems: string[] = [];
  const lineAt = (offset: number) => source.slice(0, offset).split('\n').length;
  const root: TemplateNode[] = [];
  const stack: Array<{ name: string; line: number; children: TemplateNode[]; inverted: boolean }> = [];
  const current = () => (stack.length > 0 ? stack[stack.length - 1]!.children : root);
  let pos = 0;
  let pendingText = '';

  const flushText = () => {
    if (pendingText !== '') current().push({ t: 'text', v: pendingText });
    pendingText = '';
  };

  while (pos < source.length) {
    const open = source.indexOf('{{', pos);
    if (open === -1) {
      pendingText += source.slice(pos);
      break;
    }
    const close = source.indexOf('}}', open + 2);
    if (close === -1) {
      problems.push(`${fileName}:${lineAt(open)}: "{{" is never closed by "}}"`);
      pendingText += source.slice(pos);
      break;
    }
    let before = source.slice(pos, open);
    const inner = source.slice(open + 2, close).trim();
    let next = close + 2;
    const line = lineAt(open);
    const sigil = inner[0] === '#' || inner[0] === '^' || inner[0] === '/' || inner[0] === '!' ? inner[0] : '';
    const name = (sigil ? inner.slice(1) : inner).trim();

    // A section, close or comment tag alone on its line takes the whole line with it. "Alone" is
    // judged on the source: any other tag on the line puts "{{" or "}}" into the slices below.
    if (sigil) {
      const lineStart = source.lastIndexOf('\n', open - 1) + 1;
      const eol = source.indexOf('\n', next);
      const lineEnd = eol === -1 ? source.length : eol;
      if (lineStart >= pos && /^[ \t]*$/.test(source.slice(lineStart, open)) && /^[ \t\r]*$/.test(source.slice(next, lineEnd))) {
        before = before.slice(0, before.length - (open - lineStart));
        next = eol === -1 ? source.length : eol + 1;
      }
    }
    pendingText += before;
    pos = next;

    if (sigil === '!') continue;
    if (!/^([A-Za-z_][A-Za-z0-9_]*|\.)$/.test(name)) {
      problems.push(`${fileName}:${line}: "{{${inner}}}" is not a tag: write {{ name }}, {{#name}}, {{^name}}, {{/name}} or {{! comment }}`);
      continue;
    }
    if (name !== '.' && allowed && !allowed.has(name)) {
      problems.push(`${fileName}:${line}: unknown variable "${name}" (this template may use: ${[...allowed].join(', ')})`);
    }
    flushText();
    if (sigil === '#' || sigil === '^') {
      stack.push({ name, line, children: [], inverted: sigil === '^' });
    } else if (sigil === '/') {
      const top = stack.pop();
      if (!top) {
        problems.push(`${fileName}:${line}: {{/${name}}} closes no open section`);
      } else if (top.name !== name) {
        problems.push(`${fileName}:${line}: {{/${name}}} closes {{${top.inverted ? '^' : '#'}${top.name}}} opened on line ${top.line}`);
      } else {
        current().push({ t: 'section', name, inverted: top.inverted, children: top.children });
      }
    } else {
      current().push({ t: 'var', name });
    }
  }
  flushText();
  for (const open of stack) problems.push(`${fileName}:${open.line}: {{${open.inverted ? '^' : '#'}${open.name}}} is never closed`);
  return { nodes: root, problems };
}

function isScope(value: TemplateValue): value is TemplateScope {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function lookup(stack: readonly TemplateValue[], name: string): TemplateValue {
  if (name === '.') return stack[stack.length - 1];
  for (let i = stack.length - 1; i >= 0; i -= 1) {
    const scope = stack[i];
    if (isScope(scope) && Object.prototype.hasOwnProperty.call(scope, name)) return scope[name];
  }
  return undefined;
}

function truthy(value: TemplateValue): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return value !== undefined && value !== null && value !== false && value !== '' && value !== 0;
}

function scalar(value: TemplateValue): string {
  if (value === undefined || value === null || value === false) return '';
  if (typeof value === 'object') return '';
  return String(value);
}

export function renderNodes(nodes: readonly TemplateNode[], stack: TemplateValue[], escape: (value: string) => string): string {
  let out = '';
  for (const node of nodes) {
    if (node.t === 'text') {
      out += node.v;
    } else if (node.t === 'var') {
      out += escape(scalar(lookup(stack, node.name)));
    } else {
      const value = lookup(stack, node.name);
      if (node.inverted) {
        if (!truthy(value)) out += renderNodes(node.children, stack, escape);
      } else if (Array.isArray(value)) {
        for (const item of value as readonly TemplateValue[]) out += renderNodes(node.children, [...stack, item], escape);
      } else if (truthy(value)) {
        out += renderNodes(node.children, [...stack, value], escape);
      }
    }
  }
  return out;
}

const FILE_PATTERN = /^([a-z0-9][a-z0-9-]*)\.([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*)\.(subject\.txt|html|txt)$/;

interface Compiled {
  readonly parts: Readonly<Partial<Record<TemplatePart, readonly TemplateNode[]>>>;
  /** Which way the locale's text runs, worked out once here rather than for every email. */
  readonly direction: 'ltr' | 'rtl';
}

export interface LoadTemplatesOptions {
  /** CONFIG_DIR: `<configDir>/templates/` is searched before the shipped templates. */
  readonly configDir?: string;
  /** Directories searched in order instead (tests); the first holding a template's locale wins. */
  readonly dirs?: readonly string[];
  readonly specs?: Readonly<Record<string, readonly string[]>>;
}

/**
 * Loads and checks every template once. A (template, locale) is taken whole from the first
 * directory that has any of its parts, so an operator overriding `customer-completed.fr.html`
 * provides the subject and text of that locale too, and never mixes versions. Throws one
 * ConfigError listing every problem.
 */
export function loadTemplates(options: LoadTemplatesOptions = {}): TemplateSet {
  const specs = options.specs ?? TEMPLATE_SPECS;
  const dirs = uniqueDirs(options.dirs ?? [...(options.configDir ? [join(options.configDir, 'templates')] : []), SHIPPED_TEMPLATES_DIR]);
  const problems: string[] = [];
  const compiled = new Map<string, Map<string, Compiled>>();

  for (const dir of dirs) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    const found = new Map<string, Map<TemplatePart, string>>();
    for (const file of entries.sort()) {
      const m = FILE_PATTERN.exec(file);
      if (!m) continue;
      const [, name, rawLocale, part] = m as unknown as [string, string, string, TemplatePart];
      if (!(name in specs)) {
        problems.push(`${join(dir, file)}: unknown template "${name}" (known: ${Object.keys(specs).join(', ')})`);
        continue;
      }
      let locale: string;
      try {
        locale = Intl.getCanonicalLocales(rawLocale.replace(/_/g, '-'))[0]!;
      } catch {
        problems.push(`${join(dir, file)}: "${rawLocale}" is not a locale tag (e.g. en, fr, pt-BR)`);
        continue;
      }
      const key = `${name}\u0000${locale}`;
      if (!found.has(key)) found.set(key, new Map());
      found.get(key)!.set(part, join(dir, file));
    }
    for (const [key, files] of found) {
      const [name, locale] = key.split('\u0000') as [string, string];
      const byLocale = compiled.get(name) ?? new Map<string, Compiled>();
      compiled.set(name, byLocale);
      if (byLocale.has(locale)) continue; // an earlier directory provides this one
      const allowed = new Set(specs[name]);
      const parts: Partial<Record<TemplatePart, TemplateNode[]>> = {};
      for (const part of TEMPLATE_PARTS) {
        const file = files.get(part);
        if (!file) {
          if (REQUIRED_PARTS.has(part)) {
            problems.push(`${join(dir, `${name}.${locale}.${part}`)}: missing (a locale needs subject.txt and html; txt is optional)`);
          }
          continue;
        }
        const parsed = parseTemplate(readFileSync(file, 'utf8'), file, allowed);
        problems.push(...parsed.problems);
        parts[part] = parsed.nodes;
      }
      if ([...REQUIRED_PARTS].every((p) => parts[p])) byLocale.set(locale, { parts, direction: textDirection(locale) });
    }
  }
  for (const name of Object.keys(specs)) {
    if (!compiled.get(name)?.has(FALLBACK_LOCALE)) {
      problems.push(`${name}.${FALLBACK_LOCALE}: template missing from ${dirs.join(' and ')} (English is required: every locale falls back to it)`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const resolveLocale = (name: string, requested: string | undefined): string => {
    const available = compiled.get(name);
    if (!available) throw new Error(`unknown template ${name}`);
    return localeChain(requested).find((l) => available.has(l)) ?? FALLBACK_LOCALE;
  };

  return {
    resolveLocale,
    locales: (name) => [...(compiled.get(name)?.keys() ?? [])].sort(),
    render(name, requestedLocale, scope) {
      const locale = resolveLocale(name, requestedLocale);
      const template = compiled.get(name)!.get(locale)!;
      const subject = oneLine(renderNodes(template.parts['subject.txt']!, [scope], oneLine)).replace(/[ \t]+/g, ' ').trim();
      const html = renderNodes(template.parts.html!, [scope], escapeHtml);
      // Right-to-left text isolates every value (FSI … PDI), as the HTML wraps them in <bdi>;
      // left-to-right text keeps them bare (docs/notifications.md, "Right to left").
      const textValue = template.direction === 'rtl' ? isolate : (v: string) => v;
      const text = template.parts.txt ? renderNodes(template.parts.txt, [scope], textValue) : htmlToText(html);
      return { subject, html, text, locale };
    },
  };
}

function uniqueDirs(dirs: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const dir of dirs) {
    const real = existsSync(dir) ? realpathSync(dir) : dir;
    if (seen.has(real)) continue;
    seen.add(real);
    out.push(dir);
  }
  return out;
}
