/**
 * What every dashboard browser test needs: a report's JSON from the API, a section's table as the
 * page shows it, the scope the page says it shows, and a login through the form. The dashboard's
 * tables carry each figure exactly in `data-value`, and each row its key in `data-stage`.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { expect } from 'vitest';
import { Analytics, openAnalyticsStore, type SqliteAnalyticsStore } from '../../src/analytics/index.js';
import { API_KEY, type ApiStack, startApiStack } from '../api/support.js';
import { launchChromium } from './chromium.js';

/** The stack a dashboard browser test drives: API, worker, dev server, its analytics store, Chromium. */
export interface DashboardStack {
  api: ApiStack;
  store: SqliteAnalyticsStore;
  browser: Browser;
  /**
   * Where a screenshot goes: docs/dashboard-<name>.png (which README shows) with
   * LEADCYCLE_UPDATE_SCREENSHOT=1, else the test's data dir.
   */
  shot(name: string): string;
  close(): Promise<void>;
}

export async function startDashboardStack(apiKeys: string[] = [API_KEY]): Promise<DashboardStack> {
  let store: SqliteAnalyticsStore | undefined;
  const api = await startApiStack((h) => {
    store = openAnalyticsStore(h.dataDir);
    return { analytics: new Analytics(store), apiKeys };
  });
  const opened = store as SqliteAnalyticsStore;
  const browser = await launchChromium();
  const update = process.env.LEADCYCLE_UPDATE_SCREENSHOT === '1';
  return {
    api,
    store: opened,
    browser,
    shot: (name) =>
      update
        ? fileURLToPath(new URL(`../../docs/dashboard-${name}.png`, import.meta.url))
        : join(api.h.dataDir, `${name}.png`),
    close: async () => {
      await browser.close();
      await api.close();
      await opened.close();
    },
  };
}

/** A report's JSON from the API (`base`), with `key`. */
export async function reportOf(base: string, key: string, path: string, query: Record<string, string>) {
  const response = await fetch(`${base}/v1/reports/${path}?${new URLSearchParams(query)}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  expect(response.status, path).toBe(200);
  // biome-ignore lint/suspicious/noExplicitAny: a report's JSON, compared field by field
  return (await response.json()) as any;
}

/** The rows of a section's table: the row's key, then each cell's exact value (null for "–"). */
export async function tableOf(page: Page, section: string): Promise<Record<string, (number | null)[]>> {
  return page.$$eval(`#${section} tbody tr`, (rows) =>
    Object.fromEntries(
      rows.map((row) => [
        row.getAttribute('data-stage') ?? '',
        [...row.querySelectorAll('td[data-value]')].map((td) => {
          const v = td.getAttribute('data-value') ?? '';
          return v === '' ? null : Number(v);
        }),
      ]),
    ),
  );
}

/** The period and tenant the page says it shows. */
export async function scopeOf(page: Page) {
  return page.$eval('#scope', (p) => ({
    tenant: p.getAttribute('data-tenant') ?? '',
    from: p.getAttribute('data-from') ?? '',
    to: p.getAttribute('data-to') ?? '',
    asOf: p.getAttribute('data-as-of') ?? '',
  }));
}

/** Opens `url` of the dashboard and logs in with `key` on the page it is sent to. */
export async function logIn(page: Page, url: string, key: string): Promise<void> {
  await page.goto(url);
  await page.fill('input[name=key]', key);
  await page.click('button[type=submit]');
  await page.waitForURL(url);
}
