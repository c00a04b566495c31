/**
 * The dashboard's Sales SLA page: how fast each sales owner accepts the MQLs handed to them, and
 * what became of the MQLs nobody accepted. Its figures are the SLA report's (Analytics.sla, as
 * GET /v1/reports/sla answers it) for the page's tenant and period. An owner is a sales rep's
 * identifier, not a lead's: no lead is named here.
 */
import type { SalesSlaReport } from '../../analytics/index.js';
import type { ApiPrincipal } from '../auth.js';
import { cell, type Html, html, page } from './html.js';
import { type Filters, filterForm, header, periodLine, type ResolvedPeriod } from './views.js';

export interface SlaPageModel {
  who: ApiPrincipal;
  filters: Filters;
  /** Null when the filters are refused (error says why). */
  period: ResolvedPeriod | null;
  error?: string;
  sla?: SalesSlaReport;
}

export function slaPage(model: SlaPageModel): string {
  const { who, filters, period } = model;
  return page(
    'Sales SLA',
    html`${header(who)}<main>
${filterForm(who, filters, '/sla')}
${model.error ? html`<p class="error" role="alert">${model.error}</p>` : ''}
${period ? periodLine(period, filters.tenant) : ''}
${model.sla ? ownersSection(model.sla) : ''}
${model.sla ? outcomesSection(model.sla) : ''}
</main>`,
  );
}

function ownersSection(r: SalesSlaReport): Html {
  return html`<section id="sla-owners"><h2>Time to accept an MQL, per sales owner (SLA ${r.slaHours} hours)</h2>
${
  r.owners.length === 0
    ? html`<p class="note">No MQL of the period was accepted by sales yet.</p>`
    : html`<table><thead><tr><th>owner</th><th>accepted</th><th>median (hours)</th><th>p90 (hours)</th><th>within the SLA</th><th>late</th></tr></thead><tbody>
${r.owners.map(
  (o) =>
    html`<tr data-stage="${o.owner ?? ''}"><td>${o.owner ?? '(not recorded)'}</td>${cell(o.accepted, 'count')}${cell(o.medianHours, 'decimal')}${cell(o.p90Hours, 'decimal')}${cell(o.withinSla, 'count')}${cell(o.late, 'count')}</tr>`,
)}
</tbody></table>`
}
<p class="note">MQLs handed to sales in the period, accepted by the time of the page. Hours run from the handoff (the entry into MQL): an escalation hands the MQL over again but does not restart the clock. "(not recorded)": accepted before stage changes named the owner.</p>
</section>`;
}

function outcomesSection(r: SalesSlaReport): Html {
  const all = r.allOwners;
  // Rows of one figure leave the hour columns blank (no data-value: not a figure).
  const row = (key: string, label: string, ...cells: Html[]) =>
    html`<tr data-stage="${key}"><td>${label}</td>${cells}${cells.length === 1 ? html`<td></td><td></td>` : ''}</tr>`;
  return html`<section id="sla-outcomes"><h2>What became of the MQLs handed to sales</h2>
<table><thead><tr><th>outcome</th><th>MQLs</th><th>median (hours)</th><th>p90 (hours)</th></tr></thead><tbody>
${row('accepted', 'accepted by an owner', cell(all.accepted, 'count'), cell(all.medianHours, 'decimal'), cell(all.p90Hours, 'decimal'))}
${row('within-sla', '… within the SLA', cell(all.withinSla, 'count'))}
${row('late', '… late', cell(all.late, 'count'))}
${row('unaccepted', 'nobody accepted in time (recycled by the SLA)', cell(r.unaccepted, 'count'))}
${row('waiting', 'still waiting for sales', cell(r.waiting.open, 'count'))}
${row('past-sla', '… past the SLA now', cell(r.waiting.pastSla, 'count'))}
${row('other', 'rejected by sales, disqualified or merged', cell(r.other, 'count'))}
${row('total', 'MQLs handed to sales', cell(r.mqlStays, 'count'))}
</tbody></table></section>`;
}
