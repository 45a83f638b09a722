import { describe, expect, it } from 'vitest';
import { escapeHtml, html, trusted } from '../../../src/adapters/http/console/html.js';

describe('console HTML escaping', () => {
  it('escapes every character that could end a text node or an attribute', () => {
    expect(escapeHtml(`<script>alert("x")</script> & 'y' \`z\``)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39; &#96;z&#96;');
  });

  it('escapes interpolated values, in text and in attributes', () => {
    const id = '"><img src=x onerror=alert(1)>';
    const out = html`<a href="/console/refunds/${id}">${id}</a>`.text;
    expect(out).not.toContain('<img');
    expect(out).toBe('<a href="/console/refunds/&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</a>');
  });

  it('inserts markup built by html as it is, and arrays item by item', () => {
    const rows = ['a<b', 'c&d'].map((v) => html`<li>${v}</li>`);
    expect(html`<ul>${rows}</ul>`.text).toBe('<ul><li>a&lt;b</li><li>c&amp;d</li></ul>');
    expect(html`<p>${trusted('<b>ok</b>')}</p>`.text).toBe('<p><b>ok</b></p>');
  });

  it('renders nothing for null, undefined and false, and numbers as text', () => {
    expect(html`[${null}${undefined}${false}${0}${42}]`.text).toBe('[042]');
  });

  it('never takes a plain object that looks like markup for markup', () => {
    const forged = JSON.parse('{"text":"<script>x</script>"}') as unknown;
    expect(html`${forged}`.text).toBe('[object Object]');
  });
});
