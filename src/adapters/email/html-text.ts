import { compile, type HtmlToTextOptions } from 'html-to-text';

/**
 * The plain-text part of an email whose template has no `.txt` (docs/notifications.md, "Email
 * templates"), derived from its rendered HTML by a real HTML parser (html-to-text, on htmlparser2)
 * rather than by stripping tags: entities decoded, `<head>`, `<style>` and `<script>` left out,
 * paragraphs and line breaks kept, a table row on one line (`Refund ID   R-1`), list items as
 * `- item`, and every link written out after its text (`Help centre [https://…]`), as a reader of
 * the text part cannot click it.
 *
 * Not wrapped: quoted-printable carries long lines, and a phone narrower than a hard wrap shows
 * every wrapped line broken twice; clients that show plain text wrap it to their own width.
 * Headings keep their case (html-to-text upper-cases them by default, which reads as shouting,
 * and means nothing in scripts without case).
 */
const OPTIONS: HtmlToTextOptions = {
  wordwrap: false,
  selectors: [
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
    { selector: 'h4', options: { uppercase: false } },
    { selector: 'h5', options: { uppercase: false } },
    { selector: 'h6', options: { uppercase: false } },
    // Email layouts are tables: each row of a table on its line, its cells side by side.
    { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false, maxColumnWidth: 200 } },
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
    // A logo or spacer image says nothing in text; its alt text, when it has one, stands in.
    { selector: 'img', format: 'altText' },
    { selector: 'ul', options: { itemPrefix: '- ' } },
  ],
  formatters: {
    altText(elem, _walk, builder) {
      const alt = (elem as { attribs?: Record<string, string> }).attribs?.alt?.trim();
      if (alt) builder.addInline(alt);
    },
  },
};

// Compiled once: building the selector tree costs more than converting one email.
const convert = compile(OPTIONS);

export function htmlToText(html: string): string {
  return convert(html)
    .replace(/[ \t]+$/gm, '')
    .replace(/\n{3,}/g, '\n\n')
    .trim()
    .concat('\n');
}
