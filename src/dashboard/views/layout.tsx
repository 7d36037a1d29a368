/**
 * The page shell every dashboard page shares: head, style, the navigation bar and `main`.
 * Pages are preact components rendered to a string on the server; preact escapes every text
 * child and attribute, so a name with markup in it shows as text wherever it appears.
 */
import type { ComponentChildren, VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';

const STYLE = `
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0;color:#1f2933;background:#f7f8fa}
header{background:#1f2933;color:#fff;padding:.7rem 1.5rem;display:flex;gap:1.5rem;align-items:center}
header a{color:#e4e7eb;text-decoration:none}header a:hover{color:#fff}header .brand{font-weight:600;margin-right:1rem}
header form{margin-left:auto}
main{padding:1.5rem;max-width:1200px;margin:0 auto}
h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.1rem;margin:1.8rem 0 .6rem}
table{border-collapse:collapse;background:#fff;width:100%;font-size:.9rem}.scroll{overflow-x:auto}
th,td{padding:.4rem .6rem;border-bottom:1px solid #e4e7eb;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}th{background:#f0f2f5;font-weight:600}
.muted{color:#7b8794}.card{background:#fff;padding:1rem;border:1px solid #e4e7eb;border-radius:6px}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:999px;font-size:.8rem;background:#e4e7eb}
.badge.active{background:#c6f7e2;color:#0c6b58}.badge.paused{background:#ffe8d9;color:#ad4e00}
button,.button{background:#1f6f5c;color:#fff;border:0;border-radius:5px;padding:.45rem .9rem;font-size:.9rem;cursor:pointer;
  text-decoration:none}
button.secondary{background:#52606d}
.timeline{display:flex;gap:.5rem;flex-wrap:wrap}
.timeline .step{background:#fff;border:1px solid #cbd2d9;border-radius:6px;padding:.5rem .8rem}
pre{background:#fff;border:1px solid #e4e7eb;padding:.8rem;overflow:auto;font-size:.8rem}
.error{color:#ab091e}.login{max-width:22rem;margin:5rem auto}
.login input{width:100%;padding:.5rem;margin:.5rem 0 1rem;box-sizing:border-box}
`;

/** Chart.js itself, then the script that draws each canvas from the data it carries (./widgets.tsx). */
export const CHART_SCRIPTS = ['/assets/chart.umd.min.js', '/assets/charts.js'];

function Nav() {
  return (
    <header>
      <span class="brand">Post-purchase campaigns</span>
      <a href="/">Overview</a>
      <a href="/preview">Preview</a>
      <a href="/messages">Messages</a>
      <a href="/admin/queues">Queues</a>
      <form method="post" action="/logout">
        <button class="secondary" type="submit">
          Log out
        </button>
      </form>
    </header>
  );
}

export interface LayoutProps {
  title: string;
  /** The navigation bar; off for the login page, which leads nowhere yet. */
  nav?: boolean;
  /** Charts on the page: loads Chart.js and the script that draws them. */
  charts?: boolean;
  children?: ComponentChildren;
}

/** A whole dashboard page around `children`, titled `title`. */
export function Layout({ title, nav = true, charts = false, children }: LayoutProps) {
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
        {charts && <script src={CHART_SCRIPTS[1]} defer />}
      </head>
      <body>
        {nav && <Nav />}
        <main>{children}</main>
      </body>
    </html>
  );
}

/** A whole page as the string a reply sends, doctype included (preact renders elements only). */
export function renderPage(page: VNode): string {
  return `<!doctype html>${renderToString(page)}`;
}
