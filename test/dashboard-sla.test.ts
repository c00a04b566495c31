import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StageChangeRow } from '../src/analytics/index.js';
import { Analytics, type SqliteAnalyticsStore } from '../src/analytics/index.js';
import { DAY_MS, HOUR_MS, type Stage } from '../src/machines/index.js';
import { API_KEY, type ApiStack } from './api/support.js';
import { logIn, reportOf, scopeOf, startDashboardStack, tableOf } from './support/dashboard.js';
import { BANT_COMPLETE, FIT } from './support/lead.js';
import { recordPopulation, tenantsHistory } from './support/population.js';
import { eventually } from './support/workflow.js';

/**
 * The dashboard's Sales SLA page (/sla) in headless Chromium against a real stack (API, worker,
 * Temporal dev server): generated history per tenant with sales owners on its stage changes, MQLs
 * accepted late, escalated or recycled by the SLA, and live leads the worker records (one accepted
 * by an owner, others still waiting). Its tables equal GET /v1/reports/sla for the same filters.
 * With LEADCYCLE_UPDATE_SCREENSHOT=1 the screenshot replaces docs/dashboard-sla.png.
 */
let api: ApiStack;
let store: SqliteAnalyticsStore;
let browser: Browser;
let shot: (name: string) => string;
let close: () => Promise<void>;

const NOW = Date.now();
const OWNERS = ['rep-ada', 'rep-sam', 'rep-kim'];
const SALES: ReadonlySet<Stage | null> = new Set(['sql', 'opportunity', 'customer']);

/** Generated history up to ten days ago; the owner on every change into or out of sales, as the machine records it. */
const HISTORY = tenantsHistory(
  NOW,
  [
    { tenant: 'acme', leads: 150, seed: 21 },
    { tenant: 'globex', leads: 100, seed: 22 },
  ],
  (c, n) => (SALES.has(c.to) || SALES.has(c.from) ? { owner: OWNERS[n % OWNERS.length] } : {}),
);

/** MQLs the generated sales always answer in time do not make: late, escalated then accepted, recycled by the SLA. */
function slowMql(
  tenant: string,
  n: number,
  handoff: number,
  end: 'late' | 'escalated' | 'recycled',
): StageChangeRow[] {
  const leadId = `lead-${tenant}-slow-${n}`;
  const row = (
    seq: number,
    from: Stage | null,
    to: Stage,
    at: number,
    extra: Partial<StageChangeRow> = {},
  ) => ({
    key: `${leadId}/${seq}`,
    leadId,
    seq,
    from,
    to,
    at,
    cause: 'test',
    reason: null,
    amount: null,
    tenant,
    ...extra,
  });
  const exit =
    end === 'recycled'
      ? row(3, 'mql', 'recycled', handoff + 96 * HOUR_MS, {
          cause: 'sla.expired',
          reason: 'sales_sla_expired',
        })
      : row(3, 'mql', 'sql', handoff + (end === 'late' ? 55 : 70) * HOUR_MS, {
          cause: 'sales.accepted',
          owner: end === 'late' ? 'rep-kim' : 'rep-ada',
        });
  return [row(1, null, 'lead', handoff - DAY_MS), row(2, 'lead', 'mql', handoff), exit];
}

const ENDS = ['late', 'escalated', 'recycled'] as const;
/** Six per tenant, 25 days apart from 20 days ago: each end twice. */
const SLOW = ['acme', 'globex'].flatMap((tenant) =>
  [0, 1, 2, 3, 4, 5].flatMap((n) => slowMql(tenant, n, NOW - (20 + 25 * n) * DAY_MS, ENDS[n % 3] ?? 'late')),
);

beforeAll(async () => {
  ({ api, store, browser, shot, close } = await startDashboardStack([API_KEY]));
  await recordPopulation(store, HISTORY);
  await store.recordStageChanges(SLOW);
  // Live leads, through the worker: acme's first is accepted by rep-live, the others wait for sales.
  const leads = api.h.client;
  for (const [tenant, n] of [
    ['acme', 2],
    ['globex', 1],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const ref = { tenant, email: `sla-person${i}@${tenant}.example` };
      await api.h.run(async () => {
        await leads.capture(ref, {
          type: 'form.submitted',
          form: 'demo_request',
          consent: true,
          profile: { ...FIT, email: ref.email },
        });
        await leads.send(ref, { type: 'bant.updated', bant: BANT_COMPLETE });
        expect((await leads.send(ref, { type: 'engagement', kind: 'quote_request' })).stage).toBe('mql');
        if (tenant === 'acme' && i === 0) {
          expect((await leads.send(ref, { type: 'sales.accepted', owner: 'rep-live' })).stage).toBe('sql');
        }
      });
    }
  }
  await eventually(async () => {
    const acme = await new Analytics(store).forTenant('acme').sla({ period: null });
    expect(acme.owners.map((o) => o.owner)).toContain('rep-live');
    expect(acme.waiting.open).toBe(1);
    expect((await new Analytics(store).forTenant('globex').sla({ period: null })).waiting.open).toBe(1);
  }, 30_000);
}, 180_000);

afterAll(() => close?.());

/** Both tables of the page equal the SLA report of its tenant and period; the report, for more checks. */
async function expectFiguresOfReport(page: Page) {
  const scope = await scopeOf(page);
  const query: Record<string, string> = {
    ...(scope.from ? { from: scope.from } : {}),
    to: scope.to,
    ...(scope.tenant ? { tenant: scope.tenant } : {}),
  };
  const sla = await reportOf(api.base, API_KEY, 'sla', query);
  const owners = await tableOf(page, 'sla-owners');
  expect(Object.keys(owners)).toEqual(sla.owners.map((o: { owner: string | null }) => o.owner ?? ''));
  for (const o of sla.owners) {
    expect(owners[o.owner ?? ''], o.owner).toEqual([
      o.accepted,
      o.medianHours,
      o.p90Hours,
      o.withinSla,
      o.late,
    ]);
  }
  const outcomes = await tableOf(page, 'sla-outcomes');
  const all = sla.allOwners;
  expect(outcomes).toEqual({
    accepted: [all.accepted, all.medianHours, all.p90Hours],
    'within-sla': [all.withinSla],
    late: [all.late],
    unaccepted: [sla.unaccepted],
    waiting: [sla.waiting.open],
    'past-sla': [sla.waiting.pastSla],
    other: [sla.other],
    total: [sla.mqlStays],
  });
  return sla;
}

describe('the Sales SLA page', () => {
  it('shows the SLA report per owner for the tenant and period chosen', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await logIn(page, `${api.base}/sla?period=7d`, API_KEY);
    // Every tenant, the last 7 days: the live leads only (the history ends ten days ago).
    const recent = await expectFiguresOfReport(page);
    expect(recent.owners.map((o: { owner: string }) => o.owner)).toEqual(['rep-live']);
    expect(recent.waiting).toEqual({ open: 2, pastSla: 0 });

    // One tenant over a year, through the form and the header's link.
    await page.click('header a[href="/sla"]');
    await page.fill('input[name=tenant]', 'acme');
    await page.selectOption('select[name=period]', '365d');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/\/sla\?tenant=acme/);
    const acme = await expectFiguresOfReport(page);
    expect(acme.owners.map((o: { owner: string }) => o.owner)).toEqual(
      expect.arrayContaining([...OWNERS, 'rep-live']),
    );
    // The slow MQLs: two accepted late (55 h, and 70 h after an escalation), two recycled by the SLA.
    expect(acme.allOwners.late).toBe(4);
    expect(acme.unaccepted).toBe(2);
    expect(acme.byOutcome).toMatchObject({ answered_late: 4, recycled_by_sla: 2 });
    await page.screenshot({ path: shot('sla'), fullPage: true });

    // Another tenant, a period of dates.
    await page.selectOption('select[name=period]', '');
    await page.fill('input[name=tenant]', 'globex');
    await page.fill('input[name=from]', new Date(NOW - 120 * DAY_MS).toISOString().slice(0, 10));
    await page.fill('input[name=to]', new Date(NOW - 30 * DAY_MS).toISOString().slice(0, 10));
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/tenant=globex/);
    const globex = await expectFiguresOfReport(page);
    expect(globex.allOwners.accepted).toBeGreaterThan(5);
    expect(globex.owners.map((o: { owner: string }) => o.owner)).not.toContain('rep-live');
    expect(globex.unaccepted + globex.allOwners.late).toBeGreaterThan(0);

    // Nothing names a lead, nothing runs on the page.
    expect(await page.content()).not.toMatch(/@(acme|globex)\.example|person\d|lead-/);
    expect(await page.locator('script').count()).toBe(0);
    await page.close();
  }, 120_000);

  it('sends a logged-out visitor to log in first', async () => {
    const bare = await fetch(`${api.base}/sla?tenant=acme`, { redirect: 'manual' });
    expect(bare.status).toBe(302);
    expect(bare.headers.get('location')).toBe('/login?next=%2Fsla%3Ftenant%3Dacme');
  });
});
