/**
 * Looking at a rendered email in a real browser, as a person would: is anything cut off or wider
 * than the screen, does every character have a glyph, do ids read left to right. Used by
 * test/integration/email-render.browser.test.ts and scripts/email-screenshots.ts.
 *
 * The functions handed to `evaluate` run in the page. The project compiles without the DOM
 * library (its code runs in Node), so they reach the page through the few DOM types below.
 */
import type { Locator, Page } from 'playwright-core';

interface Box {
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
  readonly width: number;
  readonly height: number;
}
interface DomNode {
  readonly nodeType: number;
  readonly textContent: string | null;
  readonly childNodes: ArrayLike<DomNode>;
  readonly parentElement: DomElement | null;
}
interface DomElement extends DomNode {
  readonly tagName: string;
  readonly className: string;
  readonly scrollWidth: number;
  readonly clientWidth: number;
  getBoundingClientRect(): Box;
  querySelectorAll(selector: string): ArrayLike<DomElement>;
  querySelector(selector: string): DomElement | null;
  matches(selector: string): boolean;
}
interface DomRange {
  setStart(node: DomNode, offset: number): void;
  setEnd(node: DomNode, offset: number): void;
  selectNodeContents(node: DomNode): void;
  getClientRects(): ArrayLike<Box>;
}
interface Canvas2d {
  font: string;
  textBaseline: string;
  fillStyle: string;
  clearRect(x: number, y: number, w: number, h: number): void;
  fillText(text: string, x: number, y: number): void;
  getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> };
}
interface DomWindow {
  readonly innerWidth: number;
  readonly document: {
    readonly documentElement: DomElement & { readonly dir: string; readonly lang: string };
    readonly body: DomElement;
    readonly fonts: { readonly ready: Promise<unknown> };
    querySelector(selector: string): DomElement | null;
    createRange(): DomRange;
    createElement(tag: 'canvas'): { width: number; height: number; getContext(kind: '2d', options: object): Canvas2d | null };
  };
  getComputedStyle(element: DomElement): { readonly fontFamily: string; readonly direction: string; readonly unicodeBidi: string; readonly display: string };
}

/** The card of a customer email: the 560px table every customer template centres in the page. */
export const CARD = 'table[width="560"]';

/**
 * Shows `html` at `width` CSS pixels (and a phone-ish height) and waits for what a reader waits
 * for: the load event (images included) and the fonts.
 */
export async function showEmail(page: Page, html: string, width: number): Promise<void> {
  await page.setViewportSize({ width, height: 800 });
  await page.setContent(html, { waitUntil: 'load', timeout: 10_000 });
  // Run under tsx (scripts/email-screenshots.ts), esbuild keeps function names by wrapping them
  // in a `__name(fn, "name")` helper of the module; the functions below are sent to the page as
  // source text, where that helper does not exist. Given as a string, this one is not rewritten.
  await page.evaluate('globalThis.__name ??= (fn) => fn');
  await page.evaluate(() => (globalThis as unknown as DomWindow).document.fonts.ready.then(() => true));
}

/**
 * What sticks out: the page wider than the viewport, any element or line of text beyond the
 * viewport's edges, and, given a container (the card), any element or text outside its box or
 * a container that scrolls sideways. `slack` absorbs sub-pixel rounding.
 */
export async function layoutProblems(page: Page, container: string | undefined, slack = 1): Promise<string[]> {
  return page.evaluate(
    ({ container, slack }) => {
      const w = globalThis as unknown as DomWindow;
      const doc = w.document;
      const problems: string[] = [];
      const vw = w.innerWidth;
      const name = (node: DomNode) => {
        const el = node.nodeType === 1 ? (node as DomElement) : node.parentElement;
        const text = (node.textContent ?? '').replace(/\s+/g, ' ').trim().slice(0, 40);
        return `<${el?.tagName.toLowerCase() ?? '?'}${el?.className ? `.${el.className}` : ''}> "${text}"`;
      };
      const span = (b: Box) => `${Math.round(b.left)}..${Math.round(b.right)}px`;
      // Each line of each text node: a line that overflows its element is still caught.
      const textBoxes = (root: DomElement): Array<{ node: DomNode; box: Box }> => {
        const out: Array<{ node: DomNode; box: Box }> = [];
        const walk = (node: DomNode) => {
          if (node.nodeType === 3) {
            if ((node.textContent ?? '').trim() === '') return;
            const range = doc.createRange();
            range.selectNodeContents(node);
            for (const box of Array.from(range.getClientRects())) out.push({ node, box });
          } else {
            for (const child of Array.from(node.childNodes)) walk(child);
          }
        };
        walk(root);
        return out;
      };
      const boxes = (root: DomElement) => [
        ...Array.from(root.querySelectorAll('*'))
          .map((el) => ({ node: el as DomNode, box: el.getBoundingClientRect() }))
          // display:none and empty elements have no box to misplace.
          .filter(({ box }) => box.width > 0 || box.height > 0),
        ...textBoxes(root),
      ];

      if (doc.documentElement.scrollWidth > vw + slack) {
        problems.push(`the page is ${doc.documentElement.scrollWidth}px wide in a ${vw}px viewport`);
      }
      for (const { node, box } of boxes(doc.body)) {
        if (box.left < -slack || box.right > vw + slack) problems.push(`${name(node)} spans ${span(box)}, beyond the ${vw}px viewport`);
      }
      if (container) {
        const card = doc.querySelector(container);
        if (!card) return [...problems, `no ${container} in the page`];
        const edge = card.getBoundingClientRect();
        if (card.scrollWidth > card.clientWidth) problems.push(`${container} scrolls sideways: ${card.scrollWidth}px of content in ${card.clientWidth}px`);
        for (const { node, box } of boxes(card)) {
          if (box.left < edge.left - slack || box.right > edge.right + slack) {
            problems.push(`${name(node)} spans ${span(box)}, outside the card's ${span(edge)}`);
          }
        }
      }
      return problems;
    },
    { container, slack },
  );
}

/**
 * The characters in `root`'s text that render as a missing glyph ("tofu"): each distinct
 * character is drawn on a canvas in its element's font and compared, pixel for pixel, with a
 * code point that no font has (U+0378 is unassigned in Unicode): where no installed font covers a
 * character, chromium draws the same .notdef glyph for both. Whitespace and invisible format
 * characters (U+200E and the like) draw nothing and are left out.
 */
export async function missingGlyphs(page: Page, root: string): Promise<string[]> {
  return page.evaluate((root) => {
    const w = globalThis as unknown as DomWindow;
    const doc = w.document;
    const top = doc.querySelector(root);
    if (!top) return [`(no ${root} in the page)`];
    const canvas = doc.createElement('canvas');
    // 48px glyphs in a 96px square: big enough that different glyphs never share their pixels.
    canvas.width = 96;
    canvas.height = 96;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) return ['(no 2d canvas)'];
    const draw = (text: string, family: string) => {
      ctx.clearRect(0, 0, 96, 96);
      ctx.font = `48px ${family}`;
      ctx.textBaseline = 'middle';
      ctx.fillStyle = '#000';
      ctx.fillText(text, 8, 48);
      return Array.from(ctx.getImageData(0, 0, 96, 96).data).join(',');
    };
    const byFamily = new Map<string, Set<string>>();
    const walk = (node: DomNode) => {
      if (node.nodeType === 3 && node.parentElement) {
        const family = w.getComputedStyle(node.parentElement).fontFamily;
        const chars = byFamily.get(family) ?? new Set<string>();
        for (const ch of node.textContent ?? '') if (!/[\s\p{Cc}\p{Cf}]/u.test(ch)) chars.add(ch);
        byFamily.set(family, chars);
      } else {
        for (const child of Array.from(node.childNodes)) walk(child);
      }
    };
    walk(top);
    const missing: string[] = [];
    for (const [family, chars] of byFamily) {
      const notdef = draw('\u0378', family);
      for (const ch of chars) if (draw(ch, family) === notdef) missing.push(ch);
    }
    return missing;
  }, root);
}

/** What the page says it is written in: `<html lang dir>`. */
export async function documentLanguage(page: Page): Promise<{ lang: string; dir: string }> {
  return page.evaluate(() => {
    const html = (globalThis as unknown as DomWindow).document.documentElement;
    return { lang: html.lang, dir: html.dir };
  });
}

export interface Reading {
  /** The text measured. */
  readonly text: string;
  /** Each character to the right of the one before on its line, and each line below the last. */
  readonly leftToRight: boolean;
  /** Inside an inline <bdi>, or an inline element with unicode-bidi isolate / plaintext (up to `stop`). */
  readonly isolated: boolean;
  /** The computed `direction` of the element (of the text's element, with `find`). */
  readonly direction: string;
}

/**
 * How an id reads on screen. In a right-to-left paragraph the bidirectional algorithm moves
 * digits and punctuation around Latin letters unless the id is isolated; its characters' boxes
 * then no longer run left to right in the order they were written.
 *
 * Without `find`, the element's whole text is measured; with it, the first occurrence of `find`
 * in one of its text nodes (a phone number inside a sentence), or undefined when there is none.
 */
export async function reading(locator: Locator, stop: string, find?: string): Promise<Reading | undefined> {
  return locator.evaluate(
    (el, { stop, find }) => {
      const w = globalThis as unknown as DomWindow;
      const texts: DomNode[] = [];
      const collect = (node: DomNode) => {
        if (node.nodeType === 3) texts.push(node);
        else for (const child of Array.from(node.childNodes)) collect(child);
      };
      collect(el as unknown as DomNode);
      // [text node, from, to): the characters to measure.
      let spans: Array<[DomNode, number, number]> = texts.map((t) => [t, 0, (t.textContent ?? '').length]);
      let element = el as unknown as DomElement;
      if (find !== undefined) {
        const node = texts.find((t) => (t.textContent ?? '').includes(find));
        if (!node?.parentElement) return undefined;
        const at = (node.textContent ?? '').indexOf(find);
        spans = [[node, at, at + find.length]];
        element = node.parentElement;
      }
      const boxes: Box[] = [];
      for (const [node, from, to] of spans) {
        const text = node.textContent ?? '';
        for (let i = from; i < to; i += 1) {
          if (/\s/.test(text[i]!)) continue;
          const range = w.document.createRange();
          range.setStart(node, i);
          range.setEnd(node, i + 1);
          const box = range.getClientRects()[0];
          if (box) boxes.push(box);
        }
      }
      // An id may wrap (at a hyphen, on a phone); each line must still run left to right, and
      // the lines top to bottom.
      let leftToRight = boxes.length > 0;
      for (let i = 1; i < boxes.length; i += 1) {
        const [before, box] = [boxes[i - 1]!, boxes[i]!];
        const sameLine = Math.abs(box.top - before.top) < 2;
        if (sameLine ? box.left < before.left : box.top < before.top) leftToRight = false;
      }
      // Only an inline element isolates its text from the rest of a line: a block (a <td> or
      // a <p>, which the UA stylesheet also marks unicode-bidi: isolate) is a paragraph of its
      // own whose base direction, rtl in an Arabic page, still reorders an id inside it.
      let isolated = false;
      for (let e: DomElement | null = element; e && !e.matches(stop); e = e.parentElement) {
        const style = w.getComputedStyle(e);
        const inline = style.display === 'inline' || style.display === 'inline-block';
        if (inline && (e.tagName === 'BDI' || ['isolate', 'isolate-override', 'plaintext'].includes(style.unicodeBidi))) isolated = true;
      }
      const text = find ?? spans.map(([node, from, to]) => (node.textContent ?? '').slice(from, to)).join('').trim();
      return { text, leftToRight, isolated, direction: w.getComputedStyle(element).direction };
    },
    { stop, find },
  );
}

/** The first match of `preferred` inside `within` when there is one, else of `fallback`. */
export async function firstOf(within: Locator, preferred: string, fallback: Locator): Promise<Locator> {
  const wanted = within.locator(preferred);
  return (await wanted.count()) > 0 ? wanted.first() : fallback.first();
}

/** Western digits only: Arabic-Indic (U+0660..) and Eastern Arabic-Indic (U+06F0..) mapped to 0-9. */
export function digitsOf(text: string): string {
  return text
    .replace(/[\u0660-\u0669]/g, (d) => String(d.charCodeAt(0) - 0x0660))
    .replace(/[\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) - 0x06f0))
    .replace(/\D/g, '');
}
