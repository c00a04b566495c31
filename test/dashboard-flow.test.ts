import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqliteAnalyticsStore } from '../src/analytics/index.js';
import { DAY_MS } from '../src/machines/index.js';
import { API_KEY, type ApiStack } from './api/support.js';
import { logIn, reportOf, scopeOf, startDashboardStack, tableOf } from './support/dashboard.js';
import { recordPopulation, tenantsHistory } from './support/population.js';

/**
 * The dashboard's funnel over time (`/flow`) in headless Chromium against the API stack, over
 * generated history of two tenants: every table equals /v1/reports/flow and /v1/reports/cohort-funnel
 * for the filters the page shows, and each stage's balances add up. With
 * LEADCYCLE_UPDATE_SCREENSHOT=1 the screenshot replaces docs/dashboard-flow.png, which README shows.
 */
const ACME_KEY = 'acme-flow-key-0123456789abcdef';
let api: ApiStack;
let store: SqliteAnalyticsStore;
let browser: Browser;
let shot: (name: string) => string;
let close: () => Promise<void>;

/** 180 days of history up to ten days ago, per tenant. */
const NOW = Date.now();
const HISTORY = tenantsHistory(NOW, [
  { tenant: 'acme', leads: 140, seed: 31 },
  { tenant: 'globex', leads: 90, seed: 32 },
]);

beforeAll(async () => {
  ({ api, store, browser, shot, close } = await startDashboardStack([API_KEY, `acme:${ACME_KEY}`]));
  await recordPopulation(store, HISTORY);
}, 180_000);

afterAll(() => close?.());

const report = (path: string, query: Record<string, string>) => reportOf(api.base, API_KEY, path, query);
const selectValue = (page: Page, name: string) => page.locator(`select[name=${name}]`).inputValue();

/** Every table of the page equals the reports of the tenant, period and intervals it shows. */
async function expectTablesOfReports(page: Page) {
  const scope = await scopeOf(page);
  expect(scope.from).not.toBe('');
  const tenant: Record<string, string> = scope.tenant ? { tenant: scope.tenant } : {};
  const period = { from: scope.from, to: scope.to, ...tenant };

  const flow = await report('flow', { ...period, interval: await selectValue(page, 'interval') });
  const sections = await page.$$eval('section[id^=flow-]', (all) => all.map((s) => s.id));
  expect(sections).toEqual(flow.stages.map((s: string) => `flow-${s}`));
  expect(flow.buckets.length).toBeGreaterThan(1);
  for (const stage of flow.stages) {
    const table = await tableOf(page, `flow-${stage}`);
    expect(Object.keys(table)).toEqual(flow.buckets.map((b: { from: string }) => b.from));
    let previousEnd: number | null = null;
    for (const bucket of flow.buckets) {
      const s = bucket.stages.find((x: { stage: string }) => x.stage === stage);
      const row = table[bucket.from] as (number | null)[];
      expect(row, `${stage} ${bucket.from}`).toEqual([
        s.startBalance,
        s.entered,
        s.forward,
        s.out,
        s.back,
        s.endBalance,
        s.conversion,
        s.velocityDays,
      ]);
      // The balance identity, as the page shows it, and each bucket opening where the last one ended.
      const [start, entered, forward, out, back, end] = row as number[];
      expect(end).toBe(
        (start as number) + (entered as number) - (forward as number) - (out as number) - (back as number),
      );
      if (previousEnd !== null) expect(start).toBe(previousEnd);
      previousEnd = end as number;
    }
  }

  const cohorts = await report('cohort-funnel', {
    ...period,
    interval: await selectValue(page, 'cohorts'),
    asOf: scope.asOf,
  });
  expect(cohorts.cohorts.length).toBeGreaterThan(0);
  const table = await tableOf(page, 'cohorts');
  expect(Object.keys(table)).toEqual(cohorts.cohorts.map((c: { from: string }) => c.from));
  for (const c of cohorts.cohorts) {
    expect(table[c.from], c.from).toEqual([
      c.leads,
      ...c.funnel.flatMap((s: { leads: number; stepRate: number | null; cumulativeRate: number }) => [
        s.leads,
        s.stepRate,
        s.cumulativeRate,
      ]),
    ]);
  }
  return { flow, cohorts };
}

describe('the funnel over time page', () => {
  it('shows the reports of the filters and intervals chosen, by preset and by dates', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await logIn(page, `${api.base}/flow?tenant=acme&period=90d`, API_KEY);

    // acme, the last 90 days, by week (the default) and cohorts by month.
    expect(await selectValue(page, 'interval')).toBe('week');
    const acme = await expectTablesOfReports(page);
    expect(acme.flow.interval).toBe('week');
    // The chart: a line per stage shown.
    const legend = await page.locator('#flow svg .role-legend-label text').allTextContents();
    expect(legend).toEqual(acme.flow.stages);
    expect(acme.cohorts.cohorts.reduce((n: number, c: { leads: number }) => n + c.leads, 0)).toBeGreaterThan(
      20,
    );

    // The nav link, then globex through the form: dates, by month, cohorts by week.
    await page.goto(`${api.base}/`);
    await page.click('header a[href="/flow"]');
    await page.waitForURL(`${api.base}/flow`);
    await page.fill('input[name=tenant]', 'globex');
    await page.selectOption('select[name=period]', '');
    await page.fill('input[name=from]', new Date(NOW - 160 * DAY_MS).toISOString().slice(0, 10));
    await page.fill('input[name=to]', new Date(NOW - 20 * DAY_MS).toISOString().slice(0, 10));
    await page.selectOption('select[name=interval]', 'month');
    await page.selectOption('select[name=cohorts]', 'week');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/tenant=globex/);
    expect(new URL(page.url()).searchParams.get('interval')).toBe('month');
    const globex = await expectTablesOfReports(page);
    expect(globex.flow.buckets.length).toBeGreaterThanOrEqual(5);
    expect(globex.cohorts.interval).toBe('week');
    // The preset links keep the intervals.
    expect(await page.getAttribute('.presets a', 'href')).toContain('interval=month');

    // Every tenant, by day over the last 365 days; then the screenshot, of acme by week.
    await page.goto(`${api.base}/flow?period=365d&interval=day`);
    const everyone = await expectTablesOfReports(page);
    expect(everyone.flow.buckets.length).toBeGreaterThan(150);
    await page.goto(`${api.base}/flow?tenant=acme&period=90d&interval=week`);
    await page.screenshot({
      path: shot('flow'),
      fullPage: true,
    });

    // A refused interval says why, on the page and from the API.
    const wrong = await page.goto(`${api.base}/flow?interval=year`);
    expect(wrong?.status()).toBe(400);
    expect(await page.locator('.error').textContent()).toContain('interval');
    const refused = await fetch(`${api.base}/v1/reports/flow?interval=year`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    expect(refused.status).toBe(400);
    expect(await page.locator('script').count()).toBe(0);
    await page.close();
  }, 120_000);

  it('keeps a tenant-scoped key to its own tenant', async () => {
    const page = await browser.newPage();
    await logIn(page, `${api.base}/flow`, ACME_KEY);
    expect((await scopeOf(page)).tenant).toBe('acme');
    await expectTablesOfReports(page);
    expect((await page.goto(`${api.base}/flow?tenant=globex`))?.status()).toBe(403);
    // The reports behind it keep the key to its tenant too.
    for (const path of ['flow', 'cohort-funnel']) {
      const other = await fetch(`${api.base}/v1/reports/${path}?tenant=globex`, {
        headers: { authorization: `Bearer ${ACME_KEY}` },
      });
      expect(other.status, path).toBe(403);
      const own = await reportOf(api.base, ACME_KEY, path, {});
      expect(own, path).toEqual(
        await report(path, {
          tenant: 'acme',
          ...('asOf' in own ? { asOf: own.asOf } : {}),
          from: own.period.from,
          to: own.period.to,
        }),
      );
    }
    await page.close();
  }, 60_000);
});
