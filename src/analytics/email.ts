/**
 * The email report: per content item, what the marketing emails did in a period. Sends come from the
 * email outcomes the send activity records (sent, deferred, suppressed); opens and clicks from the
 * journal's `engagement` events that name the item (`contentId`); unsubscribes from its
 * `consent.unsubscribed` events, each credited to the last item sent to that lead before it. A pure
 * function of what the store returns, so every store gives the same answer.
 */
import type { ContentItem, LeadEvent } from '../machines/index.js';
import {
  EMAIL_SKIP_REASONS,
  type EmailOutcomeRow,
  type EmailSkipReason,
  type JournaledLead,
} from './records.js';
import type { Period } from './reports.js';

export interface EmailCounts {
  /** Emails that left (each delivery once, however often it was retried). */
  sent: number;
  /** Attempts the mail server refused for now (SMTP 4xx) or that could not reach it; each was retried. */
  deferred: number;
  /** Emails not sent: the address was suppressed, the lead had unsubscribed, or the email cap held. */
  suppressed: number;
  suppressedBy: Record<EmailSkipReason, number>;
  /** Leads that opened (clicked) the item at least once in the period. */
  uniqueOpens: number;
  uniqueClicks: number;
  /** Unsubscribes in the period whose lead was last sent this item. */
  unsubscribes: number;
  /** uniqueOpens (uniqueClicks) over sent; null when nothing was sent. */
  openRate: number | null;
  clickRate: number | null;
}

export interface EmailItemRow extends EmailCounts {
  itemId: string;
  /** The title it was last sent with, else the live config's; null when neither knows the item. */
  title: string | null;
}

export interface EmailReport {
  /** What happened in this period; null for everything recorded. */
  period: Period | null;
  /** The most sent first, then by item id. */
  items: EmailItemRow[];
  /** Over every item; unique leads are counted per item, so they add up item by item. */
  total: EmailCounts;
  /** Unsubscribes in the period of leads that had been sent no email before: in no item's row. */
  unsubscribesWithoutEmail: number;
}

interface Tally {
  sent: number;
  deferred: number;
  suppressedBy: Record<EmailSkipReason, number>;
  opened: Set<string>;
  clicked: Set<string>;
  unsubscribes: number;
}

const noReasons = (): Record<EmailSkipReason, number> =>
  Object.fromEntries(EMAIL_SKIP_REASONS.map((r) => [r, 0])) as Record<EmailSkipReason, number>;

const tally = (): Tally => ({
  sent: 0,
  deferred: 0,
  suppressedBy: noReasons(),
  opened: new Set(),
  clicked: new Set(),
  unsubscribes: 0,
});

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

function countsOf(t: {
  sent: number;
  deferred: number;
  suppressedBy: Record<EmailSkipReason, number>;
  uniqueOpens: number;
  uniqueClicks: number;
  unsubscribes: number;
}): EmailCounts {
  const suppressed = Object.values(t.suppressedBy).reduce((a, b) => a + b, 0);
  return {
    sent: t.sent,
    deferred: t.deferred,
    suppressed,
    suppressedBy: t.suppressedBy,
    uniqueOpens: t.uniqueOpens,
    uniqueClicks: t.uniqueClicks,
    unsubscribes: t.unsubscribes,
    openRate: ratio(t.uniqueOpens, t.sent),
    clickRate: ratio(t.uniqueClicks, t.sent),
  };
}

/** The last of a lead's sends (in time order) at or before `at`, or null. */
function lastSendBefore(sends: EmailOutcomeRow[], at: number): EmailOutcomeRow | null {
  let last: EmailOutcomeRow | null = null;
  for (const s of sends) {
    if (s.at > at) break;
    last = s;
  }
  return last;
}

/** Code-unit order, the same in every locale. */
const byId = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * `outcomes`: every outcome recorded before the period's end (earlier sends credit unsubscribes),
 * ordered by `at`. `journal`: the leads of the same scope with their events. `library`: the live
 * config's content items, for the titles of items opened but not sent in the records.
 */
export async function emailPerformance(
  outcomes: EmailOutcomeRow[],
  journal: AsyncIterable<{ lead: JournaledLead; events: LeadEvent[] }>,
  options: { period: Period | null; library?: readonly ContentItem[] },
): Promise<EmailReport> {
  const { period } = options;
  const inPeriod = (at: number) => period === null || (at >= period.from && at < period.to);
  const items = new Map<string, Tally>();
  const itemOf = (id: string) => {
    let t = items.get(id);
    if (!t) {
      t = tally();
      items.set(id, t);
    }
    return t;
  };
  const titles = new Map<string, string>();
  for (const item of options.library ?? []) titles.set(item.id, item.title);
  const sends = new Map<string, EmailOutcomeRow[]>();

  for (const row of outcomes) {
    if (row.title !== null) titles.set(row.itemId, row.title);
    if (row.outcome === 'sent') {
      const list = sends.get(row.leadId) ?? [];
      list.push(row);
      sends.set(row.leadId, list);
    }
    if (!inPeriod(row.at)) continue;
    const t = itemOf(row.itemId);
    if (row.outcome === 'sent') t.sent++;
    else if (row.outcome === 'deferred') t.deferred++;
    else if (row.skipReason !== null) t.suppressedBy[row.skipReason]++;
  }

  let unsubscribesWithoutEmail = 0;
  for await (const { lead, events } of journal) {
    for (const event of events) {
      if (!inPeriod(event.at)) continue;
      if (event.type === 'engagement' && event.contentId !== undefined) {
        if (event.kind === 'email_open') itemOf(event.contentId).opened.add(lead.leadId);
        if (event.kind === 'email_click') itemOf(event.contentId).clicked.add(lead.leadId);
      } else if (event.type === 'consent.unsubscribed') {
        // The last email that left before it (sends are in time order).
        const last = lastSendBefore(sends.get(lead.leadId) ?? [], event.at);
        if (last) itemOf(last.itemId).unsubscribes++;
        else unsubscribesWithoutEmail++;
      }
    }
  }

  const rows: EmailItemRow[] = [...items].map(([itemId, t]) => ({
    itemId,
    title: titles.get(itemId) ?? null,
    ...countsOf({ ...t, uniqueOpens: t.opened.size, uniqueClicks: t.clicked.size }),
  }));
  rows.sort((a, b) => b.sent - a.sent || byId(a.itemId, b.itemId));
  const sum = (f: (r: EmailItemRow) => number) => rows.reduce((n, r) => n + f(r), 0);
  const suppressedBy = noReasons();
  for (const r of rows)
    for (const reason of EMAIL_SKIP_REASONS) suppressedBy[reason] += r.suppressedBy[reason];
  const total = countsOf({
    sent: sum((r) => r.sent),
    deferred: sum((r) => r.deferred),
    suppressedBy,
    uniqueOpens: sum((r) => r.uniqueOpens),
    uniqueClicks: sum((r) => r.uniqueClicks),
    unsubscribes: sum((r) => r.unsubscribes),
  });
  return { period, items: rows, total, unsubscribesWithoutEmail };
}
