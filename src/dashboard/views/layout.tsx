/**
 * The page shell every dashboard page shares: head, style, the navigation bar and `main`.
 * Pages are preact components rendered to a string on the server; preact escapes every text
 * child and attribute, so a name with markup in it shows as text wherever it appears.
 */
import type { ComponentChildren, VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';

const STYLE = `
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1f2933;background:#f7f8fa;line-height:1.4}
header{background:#1f2933;color:#fff;padding:.6rem 1.5rem;display:flex;flex-wrap:wrap;gap:.4rem 1.5rem;align-items:center}
header a{color:#e4e7eb;text-decoration:none}header a:hover,header a[aria-current]{color:#fff;text-decoration:underline}
header .brand{font-weight:600;margin-right:1rem;color:#fff}
header nav{display:flex;flex-wrap:wrap;gap:.4rem 1.5rem;align-items:center;flex:1}
header nav form{margin-left:auto}
.nav-toggle{position:absolute;opacity:0;pointer-events:none}
header label.menu{display:none;margin-left:auto;cursor:pointer;border:1px solid #7b8794;border-radius:5px;padding:.2rem .6rem}
@media (max-width:720px){
  header{padding:.6rem 1rem}
  header label.menu{display:block}
  header nav{display:none;flex-basis:100%;flex-direction:column;align-items:flex-start;gap:.6rem;padding:.4rem 0}
  header nav form{margin-left:0}
  .nav-toggle:checked~nav{display:flex}
  .nav-toggle:focus-visible+label.menu{outline:2px solid #fff}
  main{padding:1rem}
}
main{padding:1.5rem;max-width:1200px;margin:0 auto}
h1{font-size:1.5rem;margin:.2rem 0 1rem;overflow-wrap:anywhere}h2{font-size:1.15rem;margin:2rem 0 .6rem}h3{font-size:1rem;margin:1.4rem 0 .5rem}
a{color:#1f6f5c}
table{border-collapse:collapse;background:#fff;width:100%;font-size:.9rem;font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto;max-width:100%;border:1px solid #e4e7eb;border-radius:6px;
  background:linear-gradient(to right,#fff 30%,rgba(255,255,255,0)),linear-gradient(to left,#fff 30%,rgba(255,255,255,0)) 100% 0,
    radial-gradient(farthest-side at 0 50%,rgba(0,0,0,.25),transparent),radial-gradient(farthest-side at 100% 50%,rgba(0,0,0,.25),transparent) 100% 0;
  background-repeat:no-repeat;background-size:40px 100%,40px 100%,14px 100%,14px 100%;background-attachment:local,local,scroll,scroll}
.scroll table{background:transparent}
.scroll-hint{font-size:.8rem;color:#7b8794;margin:.2rem 0}
th,td{padding:.4rem .6rem;border-bottom:1px solid #e4e7eb;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}th{background:#f0f2f5;font-weight:600}
td.wrap,th.wrap{white-space:normal;min-width:14rem;text-align:left}
@media (max-width:720px){.lead td:nth-child(-n+2),.lead th:nth-child(-n+2){white-space:normal;min-width:6.5rem;text-align:left}}
.muted{color:#616e7c}.card{background:#fff;padding:1rem;border:1px solid #e4e7eb;border-radius:6px}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,17rem),1fr));gap:1rem;margin:.8rem 0}
.card h3{margin:0 0 .4rem}.card dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem .8rem;margin:.6rem 0 0;font-size:.9rem}
.card dt{color:#616e7c}.card dd{margin:0;text-align:right;font-variant-numeric:tabular-nums}
.card.winner{border:2px solid #1f6f5c}.card.loser{border-color:#d64545}
.verdict{font-weight:600;margin:.2rem 0}.good{color:#0c6b58}.bad{color:#a61b1b}
.notice{background:#fffbea;border:1px solid #f0b429;border-radius:6px;padding:.6rem .8rem;margin:.8rem 0}
.alert{background:#ffeeee;border:1px solid #d64545;color:#7a0f0f;border-radius:6px;padding:.6rem .8rem;margin:.8rem 0}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:999px;font-size:.8rem;background:#e4e7eb;color:#1f2933}
.badge.active{background:#c6f7e2;color:#0c6b58}.badge.paused{background:#ffe8d9;color:#ad4e00}.badge.win{background:#1f6f5c;color:#fff}
button,.button{background:#1f6f5c;color:#fff;border:0;border-radius:5px;padding:.45rem .9rem;font:inherit;font-size:.9rem;cursor:pointer;
  text-decoration:none;display:inline-block}
button.secondary,.button.secondary{background:#52606d}button.danger{background:#ab091e}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.6rem 0}.actions form{margin:0}
form.stack{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:flex-end;margin:.6rem 0}
form.stack label{display:flex;flex-direction:column;gap:.2rem;font-size:.85rem;color:#52606d;flex:1 1 14rem;max-width:100%}
input,select,textarea{font:inherit;font-size:.95rem;padding:.45rem .6rem;border:1px solid #cbd2d9;border-radius:5px;background:#fff;color:#1f2933;
  max-width:100%;min-width:0}
.flow{display:flex;flex-wrap:wrap;gap:.5rem;align-items:stretch}
.flow .node{background:#fff;border:1px solid #cbd2d9;border-radius:6px;padding:.6rem .8rem;flex:1 1 15rem;min-width:0}
.flow .arrow{align-self:center;color:#9aa5b1;font-size:1.3rem}
@media (max-width:720px){.flow{flex-direction:column;flex-wrap:nowrap}.flow .arrow{transform:rotate(90deg)}}
.chart{position:relative;height:280px;width:100%}
.chart-card{background:#fff;border:1px solid #e4e7eb;border-radius:6px;padding:.8rem}
pre{background:#fff;border:1px solid #e4e7eb;padding:.8rem;overflow:auto;font-size:.8rem}
.error{color:#ab091e}.login{max-width:22rem;margin:5rem auto}
.login input{width:100%;padding:.5rem;margin:.5rem 0 1rem}
`;

/** Chart.js itself, its annotation plugin (the step marks), then the script that draws each canvas from the data it carries (./widgets.tsx). */
export const CHART_SCRIPTS = ['/assets/chart.umd.min.js', '/assets/chartjs-plugin-annotation.min.js', '/assets/charts.js'];

const LINKS: [string, string][] = [
  ['/', 'Overview'],
  ['/preview', 'Preview'],
  ['/messages', 'Messages'],
  ['/customers', 'Customers'],
  ['/codes', 'Discount codes'],
  ['/webhooks', 'Webhooks'],
  ['/admin/queues', 'Queues'],
];

/**
 * The navigation bar. Under 720 px it collapses behind a "Menu" toggle, a checkbox and its
 * label, so it works without any script.
 */
function Nav({ current }: { current?: string | undefined }) {
  return (
    <header>
      <a class="brand" href="/">
        Post-purchase campaigns
      </a>
      <input type="checkbox" id="nav-toggle" class="nav-toggle" aria-label="Show the menu" />
      <label for="nav-toggle" class="menu" aria-hidden="true">
        Menu
      </label>
      <nav>
        {LINKS.map(([href, label]) => (
          <a href={href} aria-current={href === current ? 'page' : undefined}>
            {label}
          </a>
        ))}
        <form method="post" action="/logout">
          <button class="secondary" type="submit">
            Log out
          </button>
        </form>
      </nav>
    </header>
  );
}

export interface LayoutProps {
  title: string;
  /** The navigation bar; off for the login page, which leads nowhere yet. */
  nav?: boolean;
  /** Charts on the page: loads Chart.js and the script that draws them. */
  charts?: boolean;
  /** The navigation link of this page, marked as the current one. */
  current?: string;
  children?: ComponentChildren;
}

/** A whole dashboard page around `children`, titled `title`. */
export function Layout({ title, nav = true, charts = false, current, children }: LayoutProps) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>{title}</title>
        {/* Raw on purpose: a constant of this module (no data in it), and text inside a style
            element is CSS, which an escaped quote or `>` would break. */}
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
        {charts && <script src={CHART_SCRIPTS[0]} />}
        {charts && <script src={CHART_SCRIPTS[1]} />}
        {charts && <script src={CHART_SCRIPTS[2]} defer />}
      </head>
      <body>
        {nav && <Nav current={current} />}
        <main>{children}</main>
      </body>
    </html>
  );
}

/** A whole page as the string a reply sends, doctype included (preact renders elements only). */
export function renderPage(page: VNode): string {
  return `<!doctype html>${renderToString(page)}`;
}
