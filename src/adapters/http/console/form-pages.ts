import type { TrackedRefund } from '../../../domain/refund.js';
import { html, type Html } from './html.js';
import { csrfField, document, page, type PageContext } from './layout.js';
import { refundTable } from './list-pages.js';

/** The pages that are mostly a form: log in, search, and the confirmation before an action. */

export function loginPage(csrf: string, problem?: string): Html {
  return document(
    'Log in',
    html`<main class="login">
<h1>refund-notifier console</h1>
${problem ? html`<p class="notice error" role="alert">${problem}</p>` : ''}
<form method="post" action="/console/login">
<input type="hidden" name="csrf" value="${csrf}">
<label for="token">Admin token</label>
<p class="hint" id="token-hint">The service's ADMIN_TOKEN. You stay logged in for 8 hours, or until you log out.</p>
<input type="password" id="token" name="token" autocomplete="current-password" required aria-describedby="token-hint">
<p><button type="submit">Log in</button></p>
</form>
</main>`,
  );
}

export function searchPage(ctx: PageContext, results?: { query: string; refunds: readonly TrackedRefund[]; now: number }): Html {
  const found = results
    ? results.refunds.length === 0
      ? html`<p role="status">Nothing matches exactly.</p>`
      : refundTable(`${results.refunds.length === 1 ? 'One refund matches' : `${results.refunds.length} refunds match`}`, results.refunds, results.now)
    : html``;
  return page(
    ctx,
    'search',
    'Search',
    html`<form method="post" action="/console/search" role="search">
${csrfField(ctx)}
<label for="q">Refund id, payment id, refund request id or customer email</label>
<p class="hint" id="q-hint">Exact match. Sent in the form's body, never in the address, so no customer data ends up in URLs or logs.</p>
<input type="search" id="q" name="q" value="${results?.query ?? ''}" required maxlength="256" autocomplete="off" aria-describedby="q-hint">
<p><button type="submit">Search</button></p>
</form>
${found}`,
  );
}

/** The confirmation before an action: a POST form with its CSRF token, and a way back. */
export function confirmPage(ctx: PageContext, c: { title: string; question: string; action: string; button: string; back: string; fields?: Record<string, string> }): Html {
  const hidden = Object.entries(c.fields ?? {}).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
  return page(
    ctx,
    'refund',
    c.title,
    html`<p>${c.question}</p>
<form method="post" action="${c.action}">
${csrfField(ctx)}${hidden}
<p><button type="submit">${c.button}</button> <a class="button secondary" href="${c.back}">Cancel</a></p>
</form>`,
  );
}
