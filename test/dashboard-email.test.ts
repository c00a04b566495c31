import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EMAIL_SKIP_REASONS,
  type EmailOutcomeRow,
  type EmailSkipReason,
  type SqliteAnalyticsStore,
} from '../src/analytics/index.js';
import { DAY_MS, HOUR_MS, type LeadEvent } from '../src/machines/index.js';
import { API_KEY, type ApiStack } from './api/support.js';
import { logIn, reportOf, scopeOf, startDashboardStack, tableOf } from './support/dashboard.js';
import { FIT } from './support/lead.js';
import { eventually } from './support/workflow.js';

/**
 * The dashboard's email page at `/email`, in headless Chromium against a real stack (API, worker,
 * Temporal dev server): generated email history of two tenants in the analytics store, and live
 * leads whose nurture email the worker sends and records. Every figure the page shows is the one
 * GET /v1/reports/email answers for the same tenant and period. With LEADCYCLE_UPDATE_SCREENSHOT=1
 * the screenshot replaces docs/dashboard-email.png, which README shows.
 */
let api: ApiStack;
let store: SqliteAnalyticsStore;
let browser: Browser;
let shot: (name: string) => string;
let close: () => Promise<void>;

const NOW = Date.now();
const ITEMS = [
  { id: 'discovery-1', title: 'Discovery guide #1' },
  { id: 'discovery-2', title: 'Discovery guide #2' },
  { id: 'evaluation-1', title: 'Evaluation guide #1' },
  { id: 'decision-1', title: 'Decision guide #1' },
];
const SKIPS: EmailSkipReason[] = ['hard_bounce', 'do_not_contact', 'email_cap', 'unsubscribed', 'complaint'];

/** A small deterministic generator (mulberry32): the same history every run. */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Per lead of a tenant, over the 120 days before now: emails, their opens and clicks, some unsubscribes. */
function history(tenant: string, leads: number, seed: number) {
  const next = random(seed);
  const outcomes: EmailOutcomeRow[] = [];
  const journal: Array<{ leadId: string; events: LeadEvent[] }> = [];
  for (let n = 0; n < leads; n++) {
    const leadId = `${tenant}-lead-${n}`;
    const events: LeadEvent[] = [];
    let at = NOW - 120 * DAY_MS + Math.floor(next() * 30 * DAY_MS);
    for (let seq = 2; seq < 6 && at < NOW - HOUR_MS; seq++) {
      const item = ITEMS[Math.floor(next() * ITEMS.length)] as (typeof ITEMS)[number];
      const base = { leadId, tenant, itemId: item.id, title: item.title, at };
      const key = `${leadId}/${seq}`;
      if (next() < 0.15) outcomes.push({ ...base, key: `${key}#1`, outcome: 'deferred', skipReason: null });
      if (next() < 0.1) {
        const reason = SKIPS[Math.floor(next() * SKIPS.length)] as EmailSkipReason;
        outcomes.push({ ...base, key, outcome: 'suppressed', skipReason: reason });
      } else {
        outcomes.push({ ...base, key, outcome: 'sent', skipReason: null, at: at + 60_000 });
        if (next() < 0.5) {
          events.push({ type: 'engagement', at: at + HOUR_MS, kind: 'email_open', contentId: item.id });
          if (next() < 0.5)
            events.push({ type: 'engagement', at: at + 2 * HOUR_MS, kind: 'email_open', contentId: item.id });
          if (next() < 0.4)
            events.push({
              type: 'engagement',
              at: at + 2 * HOUR_MS,
              kind: 'email_click',
              contentId: item.id,
            });
        }
        if (next() < 0.05)
          events.push({ type: 'consent.unsubscribed', at: at + 3 * HOUR_MS, doNotContact: false });
      }
      at += Math.floor((3 + next() * 20) * DAY_MS);
    }
    journal.push({ leadId, events });
  }
  return { outcomes, journal };
}

beforeAll(async () => {
  ({ api, store, browser, shot, close } = await startDashboardStack());
  for (const [tenant, leads, seed] of [
    ['acme', 120, 7],
    ['globex', 80, 8],
  ] as const) {
    const { outcomes, journal } = history(tenant, leads, seed);
    for (const row of outcomes) await store.recordEmailOutcome(row);
    for (const { leadId, events } of journal) {
      await store.recordJournal(
        { leadId, createdAt: NOW - 121 * DAY_MS, tenant },
        events.map((event, i) => ({ leadId, seq: i + 1, event })),
      );
    }
  }
  // Live leads: a content download with consent, whose nurture email the worker sends and records.
  for (const tenant of ['acme', 'globex']) {
    const ref = { tenant, email: `reader@${tenant}.example` };
    await api.h.run(() =>
      api.h.client.capture(ref, {
        type: 'form.submitted',
        form: 'content_download',
        consent: true,
        profile: { ...FIT, email: ref.email },
      }),
    );
  }
  await eventually(async () => {
    for (const tenant of ['acme', 'globex']) {
      const recent = await store.emailOutcomes({ tenant });
      expect(recent.filter((r) => r.leadId.startsWith('lead-') && r.outcome === 'sent')).toHaveLength(1);
    }
  }, 30_000);
}, 180_000);

afterAll(() => close?.());

/** The page's tables equal the email report of the tenant and period it says it shows. */
async function expectFiguresOfReport(page: Page) {
  const scope = await scopeOf(page);
  const query: Record<string, string> = {
    ...(scope.tenant ? { tenant: scope.tenant } : {}),
    ...(scope.from ? { from: scope.from, to: scope.to } : {}),
  };
  const report = await reportOf(api.base, API_KEY, 'email', query);
  const shown = await tableOf(page, 'email-items');
  // biome-ignore lint/suspicious/noExplicitAny: the report's JSON, compared field by field
  const figures = (r: any) => [
    r.sent,
    r.deferred,
    r.suppressed,
    r.uniqueOpens,
    r.openRate,
    r.uniqueClicks,
    r.clickRate,
    r.unsubscribes,
  ];
  expect(Object.keys(shown)).toEqual([...report.items.map((r: { itemId: string }) => r.itemId), 'total']);
  for (const r of report.items) expect(shown[r.itemId], r.itemId).toEqual(figures(r));
  expect(shown.total).toEqual(figures(report.total));

  const suppressed = await tableOf(page, 'email-suppressed');
  const withSkips = report.items.filter((r: { suppressed: number }) => r.suppressed > 0);
  expect(Object.keys(suppressed)).toEqual(withSkips.map((r: { itemId: string }) => r.itemId));
  for (const r of withSkips) {
    expect(suppressed[r.itemId], r.itemId).toEqual(
      EMAIL_SKIP_REASONS.map((reason) => r.suppressedBy[reason]),
    );
  }
  return report;
}

describe('the dashboard email page', () => {
  it('shows the email report per content item for the tenant and period chosen', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await logIn(page, `${api.base}/email?tenant=acme&period=90d`, API_KEY);
    // The nav link leads here from the overview too.
    expect(await page.locator('header a[href="/email"]').textContent()).toBe('Email');

    const acme = await expectFiguresOfReport(page);
    expect((await scopeOf(page)).tenant).toBe('acme');
    expect(acme.items.length).toBe(ITEMS.length);
    expect(acme.total.sent).toBeGreaterThan(100);
    expect(acme.total.deferred).toBeGreaterThan(0);
    expect(acme.total.suppressed).toBeGreaterThan(0);
    expect(acme.total.uniqueOpens).toBeGreaterThan(0);
    expect(acme.total.unsubscribes).toBeGreaterThan(0);
    // Titles of the items, as they were sent.
    expect(await page.locator('#email-items td', { hasText: 'Evaluation guide #1' }).count()).toBe(1);
    await page.screenshot({
      path: shot('email'),
      fullPage: true,
    });

    // Another tenant, and a period of dates, through the form.
    await page.fill('input[name=tenant]', 'globex');
    await page.selectOption('select[name=period]', '');
    await page.fill('input[name=from]', new Date(NOW - 100 * DAY_MS).toISOString().slice(0, 10));
    await page.fill('input[name=to]', new Date(NOW + DAY_MS).toISOString().slice(0, 10));
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/\/email\?.*tenant=globex/);
    const globex = await expectFiguresOfReport(page);
    expect(globex.period).not.toBeNull();
    expect(globex.total.sent).toBeGreaterThan(0);
    expect(globex.total.sent).not.toBe(acme.total.sent);

    // Every tenant, the last 7 days: the live leads' emails are in it.
    await page.goto(`${api.base}/email?period=7d`);
    const recent = await expectFiguresOfReport(page);
    expect(recent.total.sent).toBeGreaterThanOrEqual(2);

    // All records; no person named anywhere on the page.
    await page.goto(`${api.base}/email?period=all`);
    await expectFiguresOfReport(page);
    expect(await page.content()).not.toMatch(/reader@|@(acme|globex)\.example|lead-[0-9a-f]{8}/);
    expect(await page.locator('script').count()).toBe(0);
    await page.close();
  }, 120_000);
});
