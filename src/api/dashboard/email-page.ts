/**
 * The dashboard's email page: per content item, what the marketing emails did in the period (the
 * email report, the same Analytics method GET /v1/reports/email answers from). Counts and item
 * titles only: no lead, no address.
 */
import { EMAIL_SKIP_REASONS, type EmailReport } from '../../analytics/index.js';
import type { ApiPrincipal } from '../auth.js';
import { cell, type Html, html, page } from './html.js';
import { type Filters, filterForm, header, periodLine, type ResolvedPeriod } from './views.js';

export interface EmailPageModel {
  who: ApiPrincipal;
  filters: Filters;
  /** Null when the filters are refused (error says why). */
  period: ResolvedPeriod | null;
  error?: string;
  report?: EmailReport;
}

export function emailPage(model: EmailPageModel): string {
  const { who, filters, period, report } = model;
  return page(
    'Email',
    html`${header(who)}<main>
${filterForm(who, filters, '/email')}
${model.error ? html`<p class="error" role="alert">${model.error}</p>` : ''}
${period ? periodLine(period, filters.tenant) : ''}
${report ? itemsSection(report) : ''}
${report ? suppressedSection(report) : ''}
</main>`,
  );
}

function itemsSection(report: EmailReport): Html {
  const row = (key: string, label: Html | string, r: EmailReport['total']) =>
    html`<tr data-stage="${key}"><td>${label}</td>${cell(r.sent, 'count')}${cell(r.deferred, 'count')}${cell(r.suppressed, 'count')}${cell(r.uniqueOpens, 'count')}${cell(r.openRate, 'percent')}${cell(r.uniqueClicks, 'count')}${cell(r.clickRate, 'percent')}${cell(r.unsubscribes, 'count')}</tr>`;
  return html`<section id="email-items"><h2>Email per content item</h2>
${
  report.items.length === 0
    ? html`<p class="note">No email was sent, opened or clicked in the period.</p>`
    : html`<table><thead><tr><th>content item</th><th>sent</th><th>deferred</th><th>suppressed</th><th>opened</th><th>open rate</th><th>clicked</th><th>click rate</th><th>unsubscribes</th></tr></thead><tbody>
${report.items.map((r) => row(r.itemId, r.title ? html`${r.title} <span class="note">${r.itemId}</span>` : r.itemId, r))}
${row('total', html`<strong>total</strong>`, report.total)}
</tbody></table>`
}
<p class="note">What happened in the period: emails sent (each once, however often retried), attempts deferred by the mail server (SMTP 4xx, retried), emails suppressed; leads who opened and clicked; unsubscribes, each credited to the last item sent to the lead before it${report.unsubscribesWithoutEmail > 0 ? ` (${report.unsubscribesWithoutEmail} more came from leads sent no email, in no row)` : ''}. Rates are over the emails sent in the period, so opens of earlier emails can lift them.</p>
</section>`;
}

function suppressedSection(report: EmailReport): Html {
  const items = report.items.filter((r) => r.suppressed > 0);
  if (items.length === 0) return html``;
  return html`<section id="email-suppressed"><h2>Suppressed, by reason</h2>
<table><thead><tr><th>content item</th>${EMAIL_SKIP_REASONS.map((reason) => html`<th>${reason.replaceAll('_', ' ')}</th>`)}</tr></thead><tbody>
${items.map(
  (r) =>
    html`<tr data-stage="${r.itemId}"><td>${r.itemId}</td>${EMAIL_SKIP_REASONS.map((reason) => cell(r.suppressedBy[reason], 'count'))}</tr>`,
)}
</tbody></table>
<p class="note">A suppressed address (do-not-contact, hard bounce, complaint, erased), a lead who unsubscribed after the email was queued, or the email cap.</p>
</section>`;
}
