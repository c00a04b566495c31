import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Analytics, type SqliteAnalyticsStore } from '../src/analytics/index.js';
import { DAY_MS } from '../src/machines/index.js';
import { API_KEY, type ApiStack } from './api/support.js';
import { reportOf, scopeOf, startDashboardStack, tableOf } from './support/dashboard.js';
import { BANT_COMPLETE, FIT } from './support/lead.js';
import { recordPopulation, tenantsHistory } from './support/population.js';
import { eventually } from './support/workflow.js';

/**
 * The dashboard at `/`, in headless Chromium (Debian's, as test/ui.test.ts), against a real stack:
 * the API, a worker and the Temporal dev server, with leads of three tenants (generated history in
 * the analytics store, and live leads the worker records). Every figure a table shows is the one the
 * /v1 reports answer for the same filters. With LEADCYCLE_UPDATE_SCREENSHOT=1 the screenshots replace
 * docs/dashboard-*.png, which README shows.
 */
const ACME_KEY = 'acme-dashboard-key-0123456789abcdef';
let api: ApiStack;
let store: SqliteAnalyticsStore;
let browser: Browser;
let shot: (name: string) => string;
let close: () => Promise<void>;

/** First touches: a search ad, a social campaign, an event (whose leads came by no form). */
const TOUCHES = [
  { source: 'google', channel: 'web', campaign: 'spring-launch', form: 'pricing-page-demo' },
  { source: 'linkedin', channel: 'social', campaign: 'abm-q3', form: 'whitepaper' },
  { source: 'trade-show', channel: 'trade_show', campaign: 'expo-2026' },
] as const;
/** A third came back by the newsletter: their last touch. */
const NEWSLETTER = {
  source: 'newsletter',
  channel: 'other',
  campaign: 'monthly-digest',
  form: 'newsletter-link',
} as const;

/** Generated history: 180 days up to ten days ago, a population per tenant. */
const NOW = Date.now();
const HISTORY = tenantsHistory(
  NOW,
  [
    { tenant: 'acme', leads: 160, seed: 3 },
    { tenant: 'globex', leads: 110, seed: 4 },
    { tenant: 'initech', leads: 70, seed: 5 },
  ],
  (_c, n, i) => {
    const firstTouch = TOUCHES[n % TOUCHES.length] as (typeof TOUCHES)[number];
    const lastTouch = n % 3 === 0 ? NEWSLETTER : firstTouch;
    return { firstTouch, lastTouch: i === 0 ? firstTouch : lastTouch };
  },
);

beforeAll(async () => {
  ({ api, store, browser, shot, close } = await startDashboardStack([API_KEY, `acme:${ACME_KEY}`]));
  await recordPopulation(store, HISTORY);
  // Live leads, through the worker: it records their stage changes into the same store.
  const leads = api.h.client;
  for (const [tenant, n] of [
    ['acme', 3],
    ['globex', 2],
  ] as const) {
    for (let i = 0; i < n; i++) {
      const ref = { tenant, email: `person${i}@${tenant}.example` };
      await api.h.run(() =>
        leads.capture(ref, {
          type: 'form.submitted',
          form: 'demo_request',
          consent: true,
          profile: { ...FIT, email: ref.email },
        }),
      );
      if (i === 0) {
        await leads.send(ref, { type: 'bant.updated', bant: BANT_COMPLETE });
        expect((await leads.send(ref, { type: 'engagement', kind: 'quote_request' })).stage).toBe('mql');
      }
    }
  }
  await eventually(async () => {
    const stages = await new Analytics(store).forTenant('acme').stages();
    expect(stages.stages.mql).toBeGreaterThanOrEqual(1);
    expect((await new Analytics(store).forTenant('globex').stages()).stages.lead).toBeGreaterThanOrEqual(1);
  }, 30_000);
}, 180_000);

afterAll(() => close?.());

/** A report's JSON from the API, with the admin key. */
const report = (path: string, query: Record<string, string>) => reportOf(api.base, API_KEY, path, query);

/** Every table of the overview equals the reports of the same tenant and period. */
async function expectFiguresOfReports(page: Page) {
  const scope = await scopeOf(page);
  expect(scope.from).not.toBe('');
  const tenant: Record<string, string> = scope.tenant ? { tenant: scope.tenant } : {};
  const period = { from: scope.from, to: scope.to, ...tenant };

  const conversion = await report('conversion', { ...period, asOf: scope.asOf });
  const funnel = await tableOf(page, 'funnel');
  expect(Object.keys(funnel)).toEqual(conversion.funnel.map((s: { stage: string }) => s.stage));
  for (const step of conversion.funnel) {
    expect(funnel[step.stage], step.stage).toEqual([step.leads, step.stepRate, step.cumulativeRate]);
  }

  const velocity = await report('velocity', period);
  const times = await tableOf(page, 'velocity');
  expect(Object.keys(times)).toEqual(velocity.stages.map((s: { stage: string }) => s.stage));
  for (const s of velocity.stages) {
    expect(times[s.stage], s.stage).toEqual([
      s.count,
      s.open,
      s.medianDays,
      s.meanDays,
      s.p90Days,
      s.toNext?.medianDays ?? null,
    ]);
  }

  const stages = await report('stages', tenant);
  const counts = await tableOf(page, 'stages');
  for (const [stage, n] of Object.entries(stages.stages)) expect(counts[stage], stage).toEqual([n]);
  expect(counts.total).toEqual([stages.total]);

  const forecast = await report('forecast', tenant);
  const expected = await tableOf(page, 'forecast');
  for (const s of forecast.stages) {
    expect(expected[s.stage], s.stage).toEqual([s.open, s.history, s.rate, s.expectedCustomers]);
  }
  expect(expected.total).toEqual([forecast.expectedCustomers]);

  // By the dimension the page shows (its `by`, default source).
  const by = await page.$eval('#attribution-first', (s) => s.getAttribute('data-by') ?? '');
  expect(by).toBe(new URL(page.url()).searchParams.get('by') ?? 'source');
  for (const model of ['first', 'last'] as const) {
    const attribution = await report('attribution', { ...period, model, by });
    expect(await page.$eval(`#attribution-${model}`, (s) => s.getAttribute('data-by'))).toBe(by);
    const shown = await tableOf(page, `attribution-${model}`);
    expect(Object.keys(shown)).toEqual(attribution.rows.map((r: { value: string | null }) => r.value ?? ''));
    for (const r of attribution.rows) {
      expect(shown[r.value ?? ''], `${model} ${r.value}`).toEqual([
        r.leads,
        r.mqls,
        r.sqls,
        r.opportunities,
        r.customers,
        r.wonAmount,
      ]);
    }
  }
  return { conversion, velocity };
}

describe('the dashboard', () => {
  it('sends a logged-out visitor to the login page, and refuses a wrong key', async () => {
    const bare = await fetch(`${api.base}/?tenant=acme`, { redirect: 'manual' });
    expect(bare.status).toBe(302);
    expect(bare.headers.get('location')).toBe('/login?next=%2F%3Ftenant%3Dacme');
    const forged = await fetch(`${api.base}/`, {
      redirect: 'manual',
      headers: { cookie: 'leadcycle_session=eyJzaWQiOiJ4IiwicGlkIjoieCIsImV4cCI6OTk5OTk5OTk5OTk5OX0.bad' },
    });
    expect(forged.status).toBe(302);
    // A form posted from another site is refused, whatever it carries.
    const crossSite = await fetch(`${api.base}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ key: API_KEY }).toString(),
    });
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.get('set-cookie')).toBeNull();
    const login = await fetch(`${api.base}/login`);
    expect(login.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(login.headers.get('cache-control')).toBe('no-store');

    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${api.base}/`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.screenshot({ path: shot('login') });
    await page.fill('input[name=key]', 'not-a-key');
    await page.click('button[type=submit]');
    await expect(page.locator('.error').textContent()).resolves.toContain('not an API key');
    expect(await page.context().cookies()).toEqual([]);
    await page.close();
  });

  it('shows every figure of the reports for the filters chosen, as shareable URLs', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${api.base}/?period=7d`);
    await page.fill('input[name=key]', API_KEY);
    await page.click('button[type=submit]');
    await page.waitForURL(`${api.base}/?period=7d`);
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({
      name: 'leadcycle_session',
      httpOnly: true,
      sameSite: 'Strict',
      secure: false,
    });
    expect(cookie?.expires).toBeGreaterThan(Date.now() / 1000 + 7 * 3600);
    expect(cookie?.value).not.toContain(API_KEY);

    // Every tenant, the last 7 days: the live leads only (the history ends ten days ago).
    const recent = await expectFiguresOfReports(page);
    expect(recent.conversion.funnel[0]).toMatchObject({ stage: 'lead', leads: 5 });

    // The default: the last 90 days; then one tenant, through the form.
    await page.goto(`${api.base}/`);
    await page.fill('input[name=tenant]', 'acme');
    await page.selectOption('select[name=period]', '365d');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/tenant=acme/);
    expect(new URL(page.url()).searchParams.get('period')).toBe('365d');
    const acme = await expectFiguresOfReports(page);
    // Leads from several sources, by first and by last touch.
    expect(await page.locator('#attribution-first td', { hasText: 'linkedin' }).count()).toBe(1);
    expect(await page.locator('#attribution-last td', { hasText: 'newsletter' }).count()).toBe(1);
    expect(acme.conversion.funnel[0]).toMatchObject({ stage: 'lead', leads: 163 });
    // By campaign, through the dimension's own form: the filters are kept.
    await page.selectOption('#attribution select[name=by]', 'campaign');
    await page.click('#attribution button[type=submit]');
    await page.waitForURL(/by=campaign/);
    expect(new URL(page.url()).searchParams.get('tenant')).toBe('acme');
    expect(new URL(page.url()).searchParams.get('period')).toBe('365d');
    await expectFiguresOfReports(page);
    expect(await page.locator('#attribution-first td', { hasText: 'expo-2026' }).count()).toBe(1);
    expect(await page.locator('#attribution-last td', { hasText: 'monthly-digest' }).count()).toBe(1);
    // The main filters keep the dimension, and so do the preset links.
    await page.selectOption('select[name=period]', '90d');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/period=90d/);
    expect(new URL(page.url()).searchParams.get('by')).toBe('campaign');
    expect(await page.locator('p.presets a', { hasText: '30d' }).getAttribute('href')).toContain(
      'by=campaign',
    );
    await page.goto(`${api.base}/?tenant=acme&period=365d`);
    // The velocity fixes: no terminal stage without an ended stay, open stays counted, hours for short stays.
    const stagesShown = acme.velocity.stages.map((s: { stage: string }) => s.stage);
    expect(stagesShown).not.toContain('customer');
    expect(await page.locator('#velocity svg').textContent()).toContain('open (censored)');
    expect(await page.locator('#velocity svg').textContent()).not.toMatch(/\b0 days\b/);
    await page.screenshot({ path: shot('overview'), fullPage: true });

    // A period of dates: a URL another operator can open as it is.
    await page.selectOption('select[name=period]', '');
    await page.fill('input[name=tenant]', 'globex');
    await page.fill('input[name=from]', new Date(NOW - 120 * DAY_MS).toISOString().slice(0, 10));
    await page.fill('input[name=to]', new Date(NOW - 30 * DAY_MS).toISOString().slice(0, 10));
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/tenant=globex/);
    const url = page.url();
    const globex = await expectFiguresOfReports(page);
    expect(globex.conversion.funnel[0].leads).toBeGreaterThan(20);
    // By form and by channel, the same dates: leads from the trade show came by no form.
    for (const by of ['form', 'channel']) {
      await page.selectOption('#attribution select[name=by]', by);
      await page.click('#attribution button[type=submit]');
      await page.waitForURL(new RegExp(`by=${by}`));
      expect(new URL(page.url()).searchParams.get('from')).toBe(new URL(url).searchParams.get('from'));
      await expectFiguresOfReports(page);
    }
    expect(await page.locator('#attribution-first td', { hasText: 'trade_show' }).count()).toBe(1);
    await page.selectOption('#attribution select[name=by]', 'form');
    await page.click('#attribution button[type=submit]');
    await page.waitForURL(/by=form/);
    expect(Object.keys(await tableOf(page, 'attribution-first'))).toContain('');
    // A dimension the report does not know is refused as the report refuses it.
    const refused = await page.goto(`${api.base}/?by=utm_source`);
    expect(refused?.status()).toBe(400);
    expect(await page.locator('.error').textContent()).toContain('by');
    await page.goto(url);
    const shared = await browser.newPage();
    await shared.context().addCookies(await page.context().cookies());
    await shared.goto(url);
    expect(await tableOf(shared, 'funnel')).toEqual(await tableOf(page, 'funnel'));
    await shared.close();

    // A refused filter says why, escaped; nothing runs on the page, and it names no person.
    await page.goto(`${api.base}/?tenant=${encodeURIComponent('<script>alert(1)</script>')}`);
    expect(await page.locator('.error').textContent()).toContain('tenant');
    expect(await page.locator('script').count()).toBe(0);
    await page.goto(`${api.base}/?period=all`);
    const body = await page.content();
    expect(body).not.toMatch(/@(acme|globex)\.example|person\d/);
    await page.close();
  }, 120_000);

  it('keeps a tenant-scoped key to its own tenant', async () => {
    const page = await browser.newPage();
    await page.goto(`${api.base}/login`);
    await page.fill('input[name=key]', ACME_KEY);
    await page.click('button[type=submit]');
    await page.waitForURL(`${api.base}/`);
    expect(await page.locator('select[name=tenant] option').allTextContents()).toEqual(['acme']);
    expect((await scopeOf(page)).tenant).toBe('acme');
    const other = await page.goto(`${api.base}/?tenant=globex`);
    expect(other?.status()).toBe(403);
    await page.close();
  });

  it('runs a what-if backtest from the page and shows it beside the actual funnel', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${api.base}/whatif?tenant=globex`);
    await page.fill('input[name=key]', API_KEY);
    await page.click('button[type=submit]');
    await page.waitForURL(/\/whatif\?tenant=globex/);
    await page.fill('input[name=mqlThreshold]', '30');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/job=/);
    // The page reloads itself while the job runs.
    await page.locator('#backtest[data-status=succeeded]').waitFor({ timeout: 60_000 });
    const id = new URL(page.url()).searchParams.get('job') as string;

    // The same job, through the API: the table shows its figures, both series.
    const response = await fetch(`${api.base}/v1/backtests/${id}`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    // biome-ignore lint/suspicious/noExplicitAny: the job's JSON, compared field by field
    const job = (await response.json()) as any;
    expect(job.status).toBe('succeeded');
    const [actual, whatIf] = job.result.series;
    expect(whatIf.label).toBe('what-if: MQL threshold 30');
    const table = await tableOf(page, 'backtest');
    for (const step of actual.funnel) {
      const replayed = whatIf.funnel.find((s: { stage: string }) => s.stage === step.stage);
      expect(table[step.stage], step.stage).toEqual([
        step.leads,
        step.stepRate,
        replayed?.leads ?? null,
        replayed?.stepRate ?? null,
      ]);
    }
    // A lower threshold makes more MQLs than happened.
    const mqls = (series: { funnel: { stage: string; leads: number }[] }) =>
      series.funnel.find((s) => s.stage === 'mql')?.leads ?? 0;
    expect(mqls(whatIf)).toBeGreaterThan(mqls(actual));
    expect(job.result.leads).toBeGreaterThanOrEqual(110);
    expect(await page.locator('#backtest svg').textContent()).toContain('what-if: MQL threshold 30');
    await page.screenshot({ path: shot('whatif'), fullPage: true });

    // Logged out: the page is gone, and the old cookie opens nothing any more.
    const [cookie] = await page.context().cookies();
    await page.click('header form button[type=submit]');
    await page.waitForURL(/\/login/);
    expect(await page.context().cookies()).toEqual([]);
    const replayed = await fetch(`${api.base}/`, {
      redirect: 'manual',
      headers: { cookie: `leadcycle_session=${cookie?.value}` },
    });
    expect(replayed.status).toBe(302);
    await page.close();
  }, 120_000);
});
