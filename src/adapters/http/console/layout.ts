import { html, type Html } from './html.js';

/** The page around every console view: head, navigation, the log-out form (it needs the CSRF token). */

/** Which navigation item is current; 'refund' and 'other' mark none. */
export type Section = 'overview' | 'search' | 'stalled' | 'failed' | 'dead' | 'refund' | 'other';

const NAV: ReadonlyArray<[Section, string, string]> = [
  ['overview', '/console', 'Overview'],
  ['search', '/console/search', 'Search'],
  ['stalled', '/console/stalled', 'Stalled'],
  ['failed', '/console/failed', 'Failed by reason'],
  ['dead', '/console/dead', 'Dead deliveries'],
];

export interface PageContext {
  /** The CSRF token of this session's forms. */
  readonly csrf: string;
}

export function document(title: string, body: Html): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · refund-notifier</title>
<link rel="stylesheet" href="/console/assets/console.css">
</head>
<body>
${body}
</body>
</html>
`;
}

export function page(ctx: PageContext, section: Section, title: string, content: Html): Html {
  const links = NAV.map(
    ([id, href, label]) => html`<li><a href="${href}"${id === section ? html` aria-current="page"` : html``}>${label}</a></li>`,
  );
  return document(
    title,
    html`<header class="top">
<a class="brand" href="/console">refund-notifier</a>
<nav aria-label="Console"><ul>${links}</ul></nav>
<form method="post" action="/console/logout">${csrfField(ctx)}<button type="submit">Log out</button></form>
</header>
<main>
<h1>${title}</h1>
${content}
</main>`,
  );
}

/** The hidden field every POST form carries. */
export function csrfField(ctx: PageContext): Html {
  return html`<input type="hidden" name="csrf" value="${ctx.csrf}">`;
}

/** A page a form refused or that does not exist, inside the layout. */
export function messagePage(ctx: PageContext, section: Section, title: string, message: string): Html {
  return page(ctx, section, title, html`<p class="notice error" role="alert">${message}</p><p><a href="/console">Back to the overview</a></p>`);
}
