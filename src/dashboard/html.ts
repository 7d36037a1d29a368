/**
 * Server-rendered HTML for the dashboard: every value goes through `escape` (a product
 * name with markup shows as text), one layout, and the few widgets the pages share.
 */
export function escape(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A template tag that escapes every interpolated value unless it is already {@link Html}. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  values.forEach((value, i) => {
    const render = (v: unknown): string => (v instanceof Html ? v.text : Array.isArray(v) ? v.map(render).join('') : escape(v));
    out += render(value) + strings[i + 1]!;
  });
  return new Html(out);
}

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
button,.button{background:#1f6f5c;color:#fff;border:0;border-radius:5px;padding:.45rem .9rem;font-size:.9rem;cursor:pointer;text-decoration:none}
button.secondary{background:#52606d}
.timeline{display:flex;gap:.5rem;flex-wrap:wrap}.timeline .step{background:#fff;border:1px solid #cbd2d9;border-radius:6px;padding:.5rem .8rem}
pre{background:#fff;border:1px solid #e4e7eb;padding:.8rem;overflow:auto;font-size:.8rem}
.error{color:#ab091e}.login{max-width:22rem;margin:5rem auto}.login input{width:100%;padding:.5rem;margin:.5rem 0 1rem;box-sizing:border-box}
`;

export function layout(title: string, body: Html, options: { nav?: boolean; scripts?: string[] } = {}): string {
  const nav = options.nav === false
    ? ''
    : html`<header><span class="brand">Post-purchase campaigns</span><a href="/">Overview</a><a href="/preview">Preview</a><a href="/messages">Messages</a><a href="/admin/queues">Queues</a>
<form method="post" action="/logout"><button class="secondary" type="submit">Log out</button></form></header>`.text;
  const scripts = (options.scripts ?? []).map((src) => `<script src="${escape(src)}"></script>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escape(title)}</title><style>${STYLE}</style>${scripts}</head><body>${nav}<main>${body.text}</main></body></html>`;
}

/** A 95% interval as a horizontal bar on a scale shared by one table, zero marked. */
export function intervalBar(interval: [number, number], estimate: number, scale: { min: number; max: number }): Html {
  const width = 220;
  const span = scale.max - scale.min || 1;
  const x = (v: number) => Math.max(0, Math.min(width, ((v - scale.min) / span) * width));
  if (!Number.isFinite(interval[0]) || !Number.isFinite(interval[1])) return html`<span class="muted">—</span>`;
  const color = interval[0] > 0 ? '#1f6f5c' : interval[1] < 0 ? '#ab091e' : '#7b8794';
  return new Html(
    `<svg width="${width}" height="16" role="img" aria-label="interval ${interval[0].toFixed(2)} to ${interval[1].toFixed(2)}">` +
      `<line x1="${x(0)}" x2="${x(0)}" y1="0" y2="16" stroke="#9aa5b1" stroke-dasharray="2,2"/>` +
      `<rect x="${x(interval[0])}" y="5" width="${Math.max(1, x(interval[1]) - x(interval[0]))}" height="6" fill="${color}" opacity=".55"/>` +
      `<rect x="${x(estimate) - 1}" y="2" width="2" height="12" fill="${color}"/></svg>`,
  );
}
