import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Analytics, openAnalyticsStore } from '../../src/analytics/index.js';
import type { EmailOutcomeRow, JournalEntry } from '../../src/analytics/records.js';
import { DAY_MS, HOUR_MS, type LeadEvent } from '../../src/machines/index.js';
import { runCli } from '../support/cli.js';
import { type StoreKind, useTestStores } from '../support/stores.js';

/**
 * The email report per content item, over the outcomes the send activity records and the journal's
 * opens, clicks and unsubscribes, in both stores: the same answer from either.
 */
const stores = useTestStores();

const T = Date.UTC(2026, 5, 1, 9);

const outcome = (
  key: string,
  leadId: string,
  itemId: string,
  at: number,
  over: Partial<EmailOutcomeRow> = {},
): EmailOutcomeRow => ({
  key,
  leadId,
  tenant: 'acme',
  itemId,
  title: `Title of ${itemId}`,
  outcome: 'sent',
  skipReason: null,
  at,
  ...over,
});

const OUTCOMES: EmailOutcomeRow[] = [
  outcome('a/2', 'a', 'd-1', T),
  outcome('a/5', 'a', 'd-2', T + DAY_MS),
  outcome('b/2#1', 'b', 'd-1', T, { outcome: 'deferred' }),
  outcome('b/2', 'b', 'd-1', T + 60_000),
  outcome('c/2', 'c', 'd-1', T, { outcome: 'suppressed', skipReason: 'hard_bounce', title: null }),
  outcome('e/2', 'e', 'd-3', T),
  outcome('g/2', 'g', 'd-1', T, { tenant: 'globex' }),
];

const open = (at: number, contentId?: string): LeadEvent => ({
  type: 'engagement',
  at,
  kind: 'email_open',
  ...(contentId ? { contentId } : {}),
});
const click = (at: number, contentId: string): LeadEvent => ({
  type: 'engagement',
  at,
  kind: 'email_click',
  contentId,
});
const unsubscribe = (at: number): LeadEvent => ({ type: 'consent.unsubscribed', at, doNotContact: false });

const JOURNAL: Array<{ leadId: string; tenant: string; events: LeadEvent[] }> = [
  // Opened twice and clicked: one unique open, one unique click; unsubscribed after the second email.
  {
    leadId: 'a',
    tenant: 'acme',
    events: [
      open(T + HOUR_MS, 'd-1'),
      open(T + 2 * HOUR_MS, 'd-1'),
      click(T + 2 * HOUR_MS, 'd-1'),
      unsubscribe(T + DAY_MS + HOUR_MS),
    ],
  },
  // An open that names no item counts for none; an item of the default library, never sent here.
  {
    leadId: 'b',
    tenant: 'acme',
    events: [open(T + HOUR_MS, 'd-1'), open(T + HOUR_MS), open(T + HOUR_MS, 'discovery-1')],
  },
  // Unsubscribed before any email: in no item's row.
  { leadId: 'c', tenant: 'acme', events: [unsubscribe(T + HOUR_MS)] },
  // Sent d-3 on the first day, unsubscribed on the third: credited to d-3, sent before the period.
  { leadId: 'e', tenant: 'acme', events: [unsubscribe(T + 2 * DAY_MS), open(T + 2 * DAY_MS, 'x-9')] },
  { leadId: 'g', tenant: 'globex', events: [open(T + HOUR_MS, 'd-1')] },
];

async function filled(kind: StoreKind) {
  const store = await stores.open(kind);
  for (const row of OUTCOMES) await store.recordEmailOutcome(row);
  for (const { leadId, tenant, events } of JOURNAL) {
    const entries: JournalEntry[] = events.map((event, i) => ({ leadId, seq: i + 1, event }));
    await store.recordJournal({ leadId, createdAt: T, tenant }, entries);
  }
  return store;
}

const none = { do_not_contact: 0, hard_bounce: 0, complaint: 0, erased: 0, unsubscribed: 0, email_cap: 0 };

describe('the email report', () => {
  it('counts per item what was sent, deferred, suppressed, opened, clicked and unsubscribed', async () => {
    const acme = new Analytics(await filled('SQLite'), () => T + 10 * DAY_MS, {}, 'acme');
    const all = await acme.emailPerformance();
    expect(all.period).toBeNull();
    expect(all.items.map((r) => r.itemId)).toEqual(['d-1', 'd-2', 'd-3', 'discovery-1', 'x-9']);
    expect(all.items[0]).toEqual({
      itemId: 'd-1',
      title: 'Title of d-1',
      sent: 2,
      deferred: 1,
      suppressed: 1,
      suppressedBy: { ...none, hard_bounce: 1 },
      uniqueOpens: 2,
      uniqueClicks: 1,
      unsubscribes: 0,
      openRate: 1,
      clickRate: 0.5,
    });
    expect(all.items[1]).toMatchObject({
      itemId: 'd-2',
      sent: 1,
      unsubscribes: 1,
      uniqueOpens: 0,
      openRate: 0,
    });
    // Titles: as last sent, else the live config's library; an item neither knows has none.
    expect(all.items.slice(3).map((r) => [r.itemId, r.title, r.sent, r.uniqueOpens, r.openRate])).toEqual([
      ['discovery-1', 'Discovery guide #1', 0, 1, null],
      ['x-9', null, 0, 1, null],
    ]);
    expect(all.total).toMatchObject({ sent: 4, deferred: 1, suppressed: 1, uniqueOpens: 4, unsubscribes: 2 });
    expect(all.total.openRate).toBe(1);
    expect(all.unsubscribesWithoutEmail).toBe(1);

    // A period after the first day: only what happened in it, an unsubscribe credited to an earlier send.
    const later = await acme.emailPerformance({ from: T + 12 * HOUR_MS, to: T + 3 * DAY_MS });
    expect(later.items.map((r) => [r.itemId, r.sent, r.unsubscribes, r.uniqueOpens])).toEqual([
      ['d-2', 1, 1, 0],
      ['d-3', 0, 1, 0],
      ['x-9', 0, 0, 1],
    ]);
    expect(later.unsubscribesWithoutEmail).toBe(0);

    // Another tenant's emails are its own.
    const globex = await acme.forTenant('globex').emailPerformance();
    expect(globex.items.map((r) => [r.itemId, r.sent, r.uniqueOpens])).toEqual([['d-1', 1, 1]]);
  });

  it('is the same from both stores, for every tenant and period', async () => {
    const sqlite = await filled('SQLite');
    const postgres = await filled('PostgreSQL');
    for (const tenant of [null, 'acme', 'globex', 'nobody']) {
      for (const period of [null, { from: T + 12 * HOUR_MS, to: T + 3 * DAY_MS }, { from: T, to: T + 1 }]) {
        const report = (store: typeof sqlite) =>
          new Analytics(store, () => T, {}, tenant).emailPerformance(period);
        expect(await report(postgres)).toEqual(await report(sqlite));
      }
    }
    // Forgetting a lead takes its emails out of the report.
    await postgres.forgetLead('a');
    const after = await new Analytics(postgres, () => T).emailPerformance();
    expect(after.items.find((r) => r.itemId === 'd-2')).toBeUndefined();
  });
});

describe('leadcycle report email', () => {
  it("is the report's JSON, or a table of it, for a tenant and a period", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'leadcycle-email-cli-'));
    try {
      const store = openAnalyticsStore(dir);
      for (const row of OUTCOMES) await store.recordEmailOutcome(row);
      for (const { leadId, tenant, events } of JOURNAL) {
        await store.recordJournal(
          { leadId, createdAt: T, tenant },
          events.map((event, i) => ({ leadId, seq: i + 1, event })),
        );
      }
      const period = { from: T + 12 * HOUR_MS, to: T + 3 * DAY_MS };
      const expected = await new Analytics(store, Date.now, {}, 'acme').emailPerformance(period);
      await store.close();
      const args = ['report', 'email', '--tenant', 'acme', '--data-dir', dir];
      const dates = [
        '--from',
        new Date(period.from).toISOString(),
        '--to',
        new Date(period.to).toISOString(),
      ];
      const [json, text] = await Promise.all([runCli(['--json', ...args, ...dates]), runCli(args)]);
      expect(json.code, json.stderr).toBe(0);
      expect(JSON.parse(json.stdout)).toEqual(expected);
      expect(text.code, text.stderr).toBe(0);
      expect(text.stdout).toContain('email per content item; everything recorded');
      expect(text.stdout).toMatch(/^d-1\s+Title of d-1\s+2\s+1\s+1\s+2\s+100\.0%\s+1\s+50\.0%\s+0\s*$/m);
      expect(text.stdout).toContain('suppressed: hard_bounce 1');
      expect(text.stdout).toContain('1 unsubscribes of leads sent no email before');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
