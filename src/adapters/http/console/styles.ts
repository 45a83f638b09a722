/**
 * The console's one stylesheet, served from /console/assets/console.css (the Content-Security-
 * Policy allows styles from our own origin only, never inline). Plain CSS, system fonts; colours
 * chosen for WCAG AA contrast on white (axe-core checks them in the browser test).
 */
export const CONSOLE_CSS = `
:root { --ink: #1f2328; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; --accent: #0a5cc2;
  --bad: #b42318; --warn: #8a5300; --good: #17663a; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 "Noto Sans", "DejaVu Sans", system-ui, sans-serif; color: var(--ink); background: #fff; }
a { color: var(--accent); }
a:focus, button:focus, input:focus, select:focus { outline: 3px solid #f0b400; outline-offset: 1px; }
header.top { display: flex; align-items: center; gap: 1.5rem; padding: .6rem 1.25rem; background: #1f2a37; color: #fff; flex-wrap: wrap; }
header.top .brand { font-weight: 700; color: #fff; text-decoration: none; }
header.top nav ul { display: flex; gap: 1rem; list-style: none; margin: 0; padding: 0; flex-wrap: wrap; }
header.top nav a { color: #dbe7ff; text-decoration: none; }
header.top nav a[aria-current="page"] { color: #fff; text-decoration: underline; }
header.top form { margin-left: auto; }
header.top button { background: transparent; color: #fff; border: 1px solid #8b9bb0; }
main { padding: 1rem 1.25rem 2rem; max-width: 78rem; }
h1 { font-size: 1.4rem; margin: .4rem 0 1rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: .8rem; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: .7rem .9rem; background: var(--bg); }
.card h2 { margin: 0 0 .4rem; font-size: 1rem; }
.card dl { display: grid; grid-template-columns: auto auto; gap: .15rem 1rem; margin: 0; }
.card dt { color: var(--muted); }
.card dd { margin: 0; text-align: right; font-variant-numeric: tabular-nums; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; font-size: .93rem; }
caption { text-align: left; color: var(--muted); padding-bottom: .3rem; }
th, td { border-bottom: 1px solid var(--line); padding: .35rem .5rem; text-align: left; vertical-align: top; }
th { background: var(--bg); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: .88em; overflow-wrap: anywhere; }
.status { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .85em; border: 1px solid currentColor; }
.status-completed, .status-sent { color: var(--good); }
.status-failed, .status-dead { color: var(--bad); }
.status-stalled, .status-pending { color: var(--warn); }
.bad { color: var(--bad); font-weight: 600; }
.muted { color: var(--muted); }
.notice { border-left: 4px solid var(--accent); background: #eef4fd; padding: .5rem .8rem; margin: .5rem 0 1rem; }
.notice.error { border-color: var(--bad); background: #fdeeee; }
form.inline { display: inline; }
button, .button { font: inherit; padding: .3rem .8rem; border-radius: 5px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
.button.secondary, button.secondary { background: #fff; color: var(--accent); }
label { display: block; font-weight: 600; margin: .6rem 0 .2rem; }
input[type=text], input[type=password], input[type=search] { font: inherit; padding: .35rem .5rem; width: min(32rem, 100%); border: 1px solid #8c959f; border-radius: 5px; }
.hint { color: var(--muted); font-size: .9em; margin: .2rem 0 .6rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1.2rem; margin: 0 0 1rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.pager { display: flex; gap: 1rem; margin: .5rem 0; }
.login { max-width: 28rem; margin: 3rem auto; }
`;
