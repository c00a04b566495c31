/**
 * The dashboard's pages: the login form, the overview (stages, funnel, velocity, forecast: each chart
 * with the exact figures of its report in a table under it) and the what-if backtest. Views only:
 * what they show comes computed from routes.ts; nothing here names a person (the reports hold counts
 * and pseudonymous lead ids, and no lead id is shown either).
 */
import type {
  AttributionReport,
  BacktestJobView,
  ConversionReport,
  ForecastReport,
  StageCountsReport,
  VelocityReport,
} from '../../analytics/index.js';
import { velocityStaysLabel } from '../../analytics/index.js';
import { TOUCH_DIMENSIONS } from '../../machines/index.js';
import type { ApiPrincipal } from '../auth.js';
import { cell, type Html, html, isoDay, page, raw } from './html.js';

/** The period presets, in days; `all` is every record. */
export const PERIOD_PRESETS = ['7d', '30d', '90d', '365d', 'all'] as const;
export type PeriodPreset = (typeof PERIOD_PRESETS)[number];
export const DEFAULT_PRESET: PeriodPreset = '90d';

/** The filters as the page's GET form carries them: every view is a URL. */
export interface Filters {
  tenant: string | null;
  /** A preset, or null when from/to are given. */
  preset: PeriodPreset | null;
  from: string;
  to: string;
}

export interface ResolvedPeriod {
  from: number;
  to: number;
  /** All records: velocity over every stay, the funnel over every lead created until `to`. */
  all: boolean;
  /** The instant the figures are as of ("now" when the page was made). */
  asOf: number;
}

export function filtersQuery(filters: Filters, extra: Record<string, string> = {}): string {
  const query = new URLSearchParams();
  if (filters.tenant) query.set('tenant', filters.tenant);
  if (filters.preset) query.set('period', filters.preset);
  if (filters.from) query.set('from', filters.from);
  if (filters.to) query.set('to', filters.to);
  for (const [k, v] of Object.entries(extra)) query.set(k, v);
  const text = query.toString();
  return text ? `?${text}` : '';
}

export function loginPage(options: { error?: string; next?: string } = {}): string {
  return page(
    'Log in',
    html`<header><h1>leadcycle dashboard</h1></header>
<main><section><h2>Log in</h2>
<p class="note">Paste an API key: one of LEADCYCLE_API_KEYS, or under <code>npm start</code> without them the one in <code>.leadcycle/api-key</code>. The key is checked once and never stored: the session lasts 8 hours, or until you log out.</p>
${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ''}
<form method="post" action="/login">
<input type="hidden" name="next" value="${options.next ?? '/'}">
<label>API key <input type="password" name="key" autocomplete="off" required size="48"></label>
<p><button type="submit">Log in</button></p>
</form></section></main>`,
  );
}

/** The header every page shares: the nav links, the key's scope, log out. */
export function header(who: ApiPrincipal): Html {
  const scope = who.tenants === null ? 'admin key: every tenant' : `tenants: ${[...who.tenants].join(', ')}`;
  return html`<header><h1>leadcycle dashboard</h1>
<a href="/">Overview</a><a href="/flow">Funnel over time</a><a href="/email">Email</a><a href="/sla">Sales SLA</a><a href="/whatif">What-if</a>
<span class="note" style="color:#dde">${scope}</span>
<form method="post" action="/logout"><button type="submit">Log out</button></form></header>`;
}

function tenantField(who: ApiPrincipal, tenant: string | null): Html {
  if (who.tenants !== null) {
    return html`<label>Tenant <select name="tenant">${[...who.tenants].map(
      (t) => html`<option value="${t}"${t === tenant ? raw(' selected') : ''}>${t}</option>`,
    )}</select></label>`;
  }
  return html`<label>Tenant <input name="tenant" value="${tenant ?? ''}" placeholder="every tenant" pattern="[^:]+"></label>`;
}

/**
 * The tenant and period form every filtered page shares; a page's own fields (`more.fields`) go in
 * it too, and their values (`more.query`) ride along on the preset links.
 */
export function filterForm(
  who: ApiPrincipal,
  filters: Filters,
  action: string,
  more: { fields: Html; query: Record<string, string> } = { fields: html``, query: {} },
): Html {
  return html`<section><form class="filters" method="get" action="${action}">
${tenantField(who, filters.tenant)}
<label>Period <select name="period">
<option value=""${filters.preset === null ? raw(' selected') : ''}>from – until</option>
${PERIOD_PRESETS.map(
  (p) =>
    html`<option value="${p}"${p === filters.preset ? raw(' selected') : ''}>${p === 'all' ? 'all records' : `last ${p.slice(0, -1)} days`}</option>`,
)}</select></label>
<label>From <input type="date" name="from" value="${filters.from}"></label>
<label>Until (exclusive) <input type="date" name="to" value="${filters.to}"></label>
${more.fields}
<button type="submit">Apply</button>
</form>
<p class="note presets">${PERIOD_PRESETS.map(
    (p) =>
      html`<a href="${action}${filtersQuery({ ...filters, preset: p, from: '', to: '' }, more.query)}">${p}</a>`,
  )} · A period from – until overrides the preset; dates are UTC days.</p></section>`;
}

/** The line saying which tenant and period the page shows (#scope, which the browser tests read). */
export function periodLine(period: ResolvedPeriod, tenant: string | null): Html {
  const from = new Date(period.from).toISOString();
  const to = new Date(period.to).toISOString();
  return html`<p id="scope" data-tenant="${tenant ?? ''}" data-from="${period.all ? '' : from}" data-to="${to}" data-as-of="${new Date(period.asOf).toISOString()}" data-all="${String(period.all)}">
${tenant ? html`Tenant <strong>${tenant}</strong>` : 'Every tenant'} ·
${period.all ? html`all records until ${isoDay(period.to)}` : html`${isoDay(period.from)} – ${isoDay(period.to)} (until excluded)`}</p>`;
}

export interface OverviewModel {
  who: ApiPrincipal;
  filters: Filters;
  /** Null when the filters are refused (error says why). */
  period: ResolvedPeriod | null;
  error?: string;
  stages?: StageCountsReport;
  conversion?: ConversionReport;
  funnelSvg?: string;
  velocity?: VelocityReport;
  /** Null when no stay ended in the period (no chart to draw). */
  velocitySvg?: string | null;
  forecast?: ForecastReport;
  /** By one dimension (the `by` of the URL, default source): first touch, then last touch. */
  attribution?: AttributionReport[];
}

export function overviewPage(model: OverviewModel): string {
  const { who, filters, period } = model;
  // A dimension other than the default rides along when the filters change.
  const by = model.attribution?.[0]?.by;
  const keepBy =
    by && by !== 'source'
      ? { fields: html`<input type="hidden" name="by" value="${by}">`, query: { by } }
      : undefined;
  return page(
    'Overview',
    html`${header(who)}<main>
${filterForm(who, filters, '/', keepBy)}
${model.error ? html`<p class="error" role="alert">${model.error}</p>` : ''}
${period ? periodLine(period, filters.tenant) : ''}
${model.stages ? stagesSection(model.stages) : ''}
${model.conversion && model.funnelSvg !== undefined ? funnelSection(model.conversion, model.funnelSvg) : ''}
${model.velocity ? velocitySection(model.velocity, model.velocitySvg ?? null) : ''}
${model.forecast ? forecastSection(model.forecast) : ''}
${model.attribution?.[0] ? attributionBy(filters, model.attribution[0].by) : ''}
${(model.attribution ?? []).map(attributionSection)}
</main>`,
  );
}

function stagesSection(report: StageCountsReport): Html {
  const rows = Object.entries(report.stages);
  return html`<section id="stages"><h2>Leads per stage now</h2>
<table><thead><tr><th>stage</th><th>leads</th></tr></thead><tbody>
${rows.map(([stage, n]) => html`<tr data-stage="${stage}"><td>${stage}</td>${cell(n, 'count')}</tr>`)}
<tr data-stage="total"><td><strong>total</strong></td>${cell(report.total, 'count')}</tr>
</tbody></table></section>`;
}

function funnelSection(report: ConversionReport, svg: string): Html {
  return html`<section id="funnel"><h2>Funnel: the leads created in the period</h2>
<figure>${raw(svg)}</figure>
<table><thead><tr><th>stage</th><th>leads</th><th>of previous step</th><th>of the cohort</th></tr></thead><tbody>
${report.funnel.map(
  (s) =>
    html`<tr data-stage="${s.stage}"><td>${s.stage}</td>${cell(s.leads, 'count')}${cell(s.stepRate, 'percent')}${cell(s.cumulativeRate, 'percent')}</tr>`,
)}
</tbody></table>
<p class="note">A funnel starts at lead when no lead of the period was a visitor first (all came in by a form).</p>
</section>`;
}

function velocitySection(report: VelocityReport, svg: string | null): Html {
  return html`<section id="velocity"><h2>Time in stage</h2>
${svg === null ? html`<p class="note">No stay ended in the period: nothing to chart.</p>` : html`<figure>${raw(svg)}</figure>`}
<table><thead><tr><th>stage</th><th>completed stays</th><th>open (censored)</th><th>median</th><th>mean</th><th>p90</th><th>median to next stage</th></tr></thead><tbody>
${report.stages.map(
  (s) =>
    html`<tr data-stage="${s.stage}" title="${velocityStaysLabel({ stays: s.count, open: s.open }).replace('\n', ', ')}"><td>${s.stage}</td>${cell(s.count, 'count')}${cell(s.open, 'count')}${cell(s.medianDays, 'duration')}${cell(s.meanDays, 'duration')}${cell(s.p90Days, 'duration')}${cell(s.toNext?.medianDays ?? null, 'duration')}</tr>`,
)}
</tbody></table>
<p class="note">Times are of the stays that ended in the period; stays still open are censored: counted, not in the times (their length is not known yet). Terminal stages (customer, disqualified, lost) are left out unless a stay in them ended.</p>
</section>`;
}

function forecastSection(report: ForecastReport): Html {
  return html`<section id="forecast"><h2>Forecast: customers from today's pipeline within ${report.horizonDays} days</h2>
<table><thead><tr><th>stage</th><th>open leads</th><th>history</th><th>rate</th><th>expected customers</th></tr></thead><tbody>
${report.stages.map(
  (s) =>
    html`<tr data-stage="${s.stage}"><td>${s.stage}</td>${cell(s.open, 'count')}${cell(s.history, 'count')}${cell(s.rate, 'percent')}${cell(s.expectedCustomers, 'decimal')}</tr>`,
)}
<tr data-stage="total"><td><strong>expected customers</strong></td><td></td><td></td><td></td>${cell(report.expectedCustomers, 'decimal')}</tr>
</tbody></table>
<p class="note">80 % interval: <span id="forecast-low" data-value="${String(report.low)}">${report.low.toFixed(1)}</span> – <span id="forecast-high" data-value="${String(report.high)}">${report.high.toFixed(1)}</span> customers${
    report.expectedRevenue === null
      ? ''
      : html`; revenue <span id="forecast-revenue" data-value="${String(report.expectedRevenue)}">${Math.round(report.expectedRevenue).toLocaleString('en-US')}</span>`
  }.${report.notEnoughHistory.length > 0 ? ` Not enough history for: ${report.notEnoughHistory.join(', ')}.` : ''}</p>
</section>`;
}

/** The attribution's dimension: a GET form of its own that keeps the page's filters. */
function attributionBy(filters: Filters, by: string): Html {
  const kept = new URLSearchParams(filtersQuery(filters));
  return html`<section id="attribution"><form class="filters" method="get" action="/">
${[...kept].map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<label>Attribution by <select name="by">${TOUCH_DIMENSIONS.map(
    (d) => html`<option value="${d}"${d === by ? raw(' selected') : ''}>${d}</option>`,
  )}</select></label>
<button type="submit">Show</button></form></section>`;
}

function attributionSection(report: AttributionReport): Html {
  return html`<section id="attribution-${report.model}" data-by="${report.by}"><h2>Attribution by ${report.by}, ${report.model} touch</h2>
<table><thead><tr><th>${report.by}</th><th>leads</th><th>MQLs</th><th>SQLs</th><th>opportunities</th><th>customers</th><th>won</th></tr></thead><tbody>
${report.rows.map(
  (r) =>
    html`<tr data-stage="${r.value ?? ''}"><td>${r.value ?? '(no touch)'}</td>${cell(r.leads, 'count')}${cell(r.mqls, 'count')}${cell(r.sqls, 'count')}${cell(r.opportunities, 'count')}${cell(r.customers, 'count')}${cell(r.wonAmount, 'count')}</tr>`,
)}
</tbody></table>
<p class="note">Each stage entered in the period, credited to the lead's ${report.model === 'first' ? 'first touch' : 'last touch before it'}.</p>
</section>`;
}

export interface WhatIfModel {
  who: ApiPrincipal;
  filters: Filters;
  /** The live config's MQL threshold: the form's default. */
  liveThreshold: number;
  error?: string;
  job?: BacktestJobView;
  /** The job's chart: recorded and replayed funnels side by side. */
  svg?: string;
}

export function whatIfPage(model: WhatIfModel): string {
  const { who, filters, job } = model;
  const running = job?.status === 'running';
  return page(
    'What-if',
    html`${header(who)}<main>
<section><h2>What-if: replay the journal with another MQL threshold</h2>
<p class="note">Every journaled lead${filters.tenant ? html` of tenant <strong>${filters.tenant}</strong>` : ''} is replayed in memory under the live config with this one change (nothing is stored), then set beside what happened.</p>
<form method="post" action="/whatif${filtersQuery({ ...filters, preset: null, from: '', to: '' })}" class="filters">
${who.tenants === null ? '' : tenantField(who, filters.tenant)}
<label>MQL threshold (live: ${model.liveThreshold}) <input type="number" name="mqlThreshold" min="0" max="1000" step="1" required value="${String(model.liveThreshold)}"></label>
<button type="submit">Run backtest</button></form></section>
${model.error ? html`<p class="error" role="alert">${model.error}</p>` : ''}
${job ? jobSection(job, model.svg) : ''}
</main>`,
    running ? { refreshSeconds: 1 } : {},
  );
}

function jobSection(job: BacktestJobView, svg: string | undefined): Html {
  if (job.status === 'running') {
    return html`<section id="backtest" data-status="running"><h2>${job.label}</h2><p>Running… this page reloads until it is done.</p></section>`;
  }
  if (job.status !== 'succeeded' || !job.result) {
    return html`<section id="backtest" data-status="${job.status}"><h2>${job.label}</h2>
<p class="error" role="alert">The backtest ${job.status === 'cancelled' ? 'was cancelled' : 'failed'}: ${job.error?.message ?? 'no reason given'}</p></section>`;
  }
  const { result } = job;
  const stages = [...new Set(result.series.flatMap((s) => s.funnel.map((f) => f.stage)))];
  return html`<section id="backtest" data-status="succeeded"><h2>${job.label}</h2>
${svg ? html`<figure>${raw(svg)}</figure>` : ''}
<table><thead><tr><th>stage</th>${result.series.map((s) => html`<th colspan="2">${s.label}</th>`)}</tr>
<tr><th></th>${result.series.map(() => html`<th>leads</th><th>of previous step</th>`)}</tr></thead><tbody>
${stages.map(
  (stage) =>
    html`<tr data-stage="${stage}"><td>${stage}</td>${result.series.map((s) => {
      const step = s.funnel.find((f) => f.stage === stage);
      return html`${cell(step?.leads ?? null, 'count')}${cell(step?.stepRate ?? null, 'percent')}`;
    })}</tr>`,
)}
</tbody></table>
<p class="note">${result.leads} leads replayed until ${isoDay(result.until)}; events the replay refused: ${result.series
    .map((s) => `${s.label} ${s.refusedEvents}`)
    .join(', ')}.</p></section>`;
}

/** A small page for what cannot be shown (kept apart so no report figure leaks into it). */
export function messagePage(title: string, message: string): string {
  return page(title, html`<main><section><h2>${title}</h2><p>${message}</p></section></main>`);
}
