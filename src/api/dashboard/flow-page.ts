/**
 * The dashboard's funnel over time (`/flow`): per funnel stage, a table of its buckets (balance at the
 * start, in, forward, out, back, balance at the end, conversion, velocity), then the cohort funnel.
 * The figures are those of /v1/reports/flow and /v1/reports/cohort-funnel for the same filters.
 */
import type { CohortFunnelReport, CohortInterval, FlowInterval, FlowReport } from '../../analytics/index.js';
import { COHORT_INTERVALS, FLOW_INTERVALS } from '../../analytics/index.js';
import type { ApiPrincipal } from '../auth.js';
import { cell, type Html, html, page, raw } from './html.js';
import { type Filters, filterForm, header, periodLine, type ResolvedPeriod } from './views.js';

export interface FlowPageModel {
  who: ApiPrincipal;
  filters: Filters;
  interval: FlowInterval;
  cohortInterval: CohortInterval;
  /** Null when the filters are refused (error says why). */
  period: ResolvedPeriod | null;
  error?: string;
  flow?: FlowReport;
  /** The balances per stage as lines; null without any bucket. */
  flowSvg?: string | null;
  cohorts?: CohortFunnelReport;
}

/** A bucket as its row says it: the day it starts, or its month. */
const bucketLabel = (from: number, interval: FlowInterval): string =>
  new Date(from).toISOString().slice(0, interval === 'month' ? 7 : 10);

const selected = (yes: boolean) => (yes ? raw(' selected') : '');

function intervalFields(interval: FlowInterval, cohortInterval: CohortInterval): Html {
  return html`<label>Interval <select name="interval">${FLOW_INTERVALS.map(
    (i) => html`<option value="${i}"${selected(i === interval)}>${i}</option>`,
  )}</select></label>
<label>Cohorts by <select name="cohorts">${COHORT_INTERVALS.map(
    (i) => html`<option value="${i}"${selected(i === cohortInterval)}>${i}</option>`,
  )}</select></label>`;
}

export function flowPage(model: FlowPageModel): string {
  const { who, filters, period, interval, cohortInterval } = model;
  const more = {
    fields: intervalFields(interval, cohortInterval),
    query: { interval, cohorts: cohortInterval },
  };
  return page(
    'Funnel over time',
    html`${header(who)}<main>
${filterForm(who, filters, '/flow', more)}
${model.error ? html`<p class="error" role="alert">${model.error}</p>` : ''}
${period ? periodLine(period, filters.tenant) : ''}
${model.flow ? flowSections(model.flow, model.flowSvg ?? null) : ''}
${model.cohorts ? cohortSection(model.cohorts) : ''}
</main>`,
  );
}

function flowSections(report: FlowReport, svg: string | null): Html {
  if (report.buckets.length === 0) {
    return html`<section id="flow"><h2>Funnel over time</h2><p class="note">No stage change recorded before the end of the period.</p></section>`;
  }
  return html`<section id="flow"><h2>Funnel over time, by ${report.interval}</h2>
${svg === null ? '' : html`<figure>${raw(svg)}</figure>`}
<p class="note">Per stage and ${report.interval} (UTC${report.interval === 'week' ? ', from Monday' : ''}): the leads in it at the start, those that came in, those that moved on to a later stage (forward), to a side stage (out: recycled, disqualified, lost, merged) or back to an earlier one, and those in it at the end (start + in − forward − out − back). Conversion: forward of start + in. Velocity: mean time in the stage of the stays that moved forward. A lead that skips a stage never enters it.</p></section>
${report.stages.map((stage) => stageTable(report, stage))}`;
}

function stageTable(report: FlowReport, stage: FlowReport['stages'][number]): Html {
  return html`<section id="flow-${stage}"><h2>${stage}</h2>
<table><thead><tr><th>${report.interval}</th><th>start</th><th>in</th><th>forward</th><th>out</th><th>back</th><th>end</th><th>conversion</th><th>velocity</th></tr></thead><tbody>
${report.buckets.map((bucket) => {
  const s = bucket.stages.find((x) => x.stage === stage);
  if (!s) return '';
  return html`<tr data-stage="${new Date(bucket.from).toISOString()}"><td>${bucketLabel(bucket.from, report.interval)}</td>${cell(s.startBalance, 'count')}${cell(s.entered, 'count')}${cell(s.forward, 'count')}${cell(s.out, 'count')}${cell(s.back, 'count')}${cell(s.endBalance, 'count')}${cell(s.conversion, 'percent')}${cell(s.velocityDays, 'duration')}</tr>`;
})}
</tbody></table></section>`;
}

function cohortSection(report: CohortFunnelReport): Html {
  const stages = report.cohorts[0]?.funnel.map((s) => s.stage) ?? [];
  return html`<section id="cohorts"><h2>Cohort funnel: leads by the ${report.interval} they were created in</h2>
${
  report.cohorts.length === 0
    ? html`<p class="note">No lead was created in the period.</p>`
    : html`<div style="overflow-x:auto"><table><thead><tr><th>${report.interval}</th><th>leads</th>${stages.map((s) => html`<th colspan="3" style="text-align:center">${s}</th>`)}</tr>
<tr><th></th><th></th>${stages.map(() => html`<th>n</th><th>step</th><th>cum.</th>`)}</tr></thead><tbody>
${report.cohorts.map(
  (c) =>
    html`<tr data-stage="${new Date(c.from).toISOString()}"><td style="white-space:nowrap">${bucketLabel(c.from, report.interval)}</td>${cell(c.leads, 'count')}${c.funnel.map(
      (s) =>
        html`${cell(s.leads, 'count')}${cell(s.stepRate, 'percent')}${cell(s.cumulativeRate, 'percent')}`,
    )}</tr>`,
)}
</tbody></table></div>`
}
<p class="note">Each cohort followed until now: how many of its leads ever reached each stage (n), as a share of the previous stage (step: above 100 % when leads skipped that one) and of the cohort (cum.). The first and last cohort are cut to the period.</p>
</section>`;
}
