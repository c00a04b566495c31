import { formatDuration } from '../../analytics/charts.js';

/**
 * HTML for the dashboard's server-rendered pages: every value goes through `esc` (text and attribute
 * values alike), and `Html` marks what is already markup, so a template cannot take a raw string for it.
 */

/** Markup that is safe to emit as is: built by `html` or `raw` only. */
export class Html {
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Text as HTML, safe in element content and in quoted attribute values. */
export const esc = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (c) => ENTITIES[c] as string);

type Part = Html | string | number | null | undefined | false | readonly Part[];

const render = (part: Part): string => {
  if (part === null || part === undefined || part === false) return '';
  if (part instanceof Html) return part.markup;
  if (Array.isArray(part)) return part.map(render).join('');
  return esc(part);
};

/** A template whose interpolations are escaped, unless they are Html (or arrays of it). */
export function html(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0] ?? '';
  parts.forEach((part, i) => {
    out += render(part) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}

/** Markup made elsewhere and trusted as is: the SVG Vega renders (it escapes its own text). */
export const raw = (markup: string): Html => new Html(markup);

const STYLE = `
body{font:14px/1.45 Helvetica,Arial,sans-serif;color:#222;margin:0;background:#f6f7f9}
header{background:#2f4159;color:#fff;padding:10px 24px;display:flex;gap:16px;align-items:center}
header h1{font-size:18px;margin:0;flex:1}header a{color:#fff}
header form{margin:0}main{padding:16px 24px;max-width:1100px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:12px 16px;margin:0 0 16px}
h2{font-size:16px;margin:4px 0 8px}table{border-collapse:collapse;margin:8px 0}
th,td{border-bottom:1px solid #e5e7ea;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}
thead th{background:#f0f2f5}form.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:end}
label{display:flex;flex-direction:column;font-size:12px;color:#555}input,select,button{font:inherit;padding:4px 6px}
.note{color:#555;font-size:12px}.error{color:#a11;background:#fdecec;padding:8px 12px;border-radius:4px}
.presets a{margin-right:10px}svg{max-width:100%;height:auto}
`;

/** A whole page; `refreshSeconds` reloads it (a running backtest) without any script. */
export function page(title: string, body: Html, options: { refreshSeconds?: number } = {}): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${options.refreshSeconds ? html`<meta http-equiv="refresh" content="${options.refreshSeconds}">` : ''}
<title>${title} · leadcycle</title><style>${raw(STYLE)}</style></head>
<body>${body}</body></html>`.markup;
}

const count = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });
const percent = new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1 });

/**
 * A table cell of a figure: shown formatted (durations are in days, shown in hours under two days),
 * the exact value in data-value, so a test compares it with the report's JSON (null: "–", data-value "").
 */
export function cell(value: number | null, format: 'count' | 'decimal' | 'percent' | 'duration'): Html {
  if (value === null) return html`<td data-value="">–</td>`;
  const shown =
    format === 'count'
      ? count.format(value)
      : format === 'percent'
        ? percent.format(value)
        : format === 'duration'
          ? formatDuration(value)
          : decimal.format(value);
  return html`<td data-value="${String(value)}">${shown}</td>`;
}

/** The calendar day of an instant, as the date inputs take it (UTC). */
export const isoDay = (t: number): string => new Date(t).toISOString().slice(0, 10);
