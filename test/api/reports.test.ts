import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Analytics,
  backtest,
  byLead,
  cohorts,
  conversion,
  forecast,
  openAnalyticsStore,
  type SqliteAnalyticsStore,
  type StageChangeRow,
  salesSla,
  stageCounts,
  velocity,
} from '../../src/analytics/index.js';
import {
  backtestView,
  cohortsView,
  conversionView,
  forecastView,
  slaView,
  stagesView,
  velocityView,
} from '../../src/api/report-views.js';
import { buildApi } from '../../src/api/server.js';
import { LeadClient } from '../../src/client/index.js';
import { DAY_MS, type LeadcycleConfigInput } from '../../src/machines/index.js';
import {
  type JournaledPopulationLead,
  journalPopulation,
  recordPopulation,
  stageChangePopulation,
} from '../support/population.js';
import { yearOfCaptures } from '../support/populations.js';

/**
 * /v1/reports/*, /v1/charts/* and /v1/backtests over SQLite stores filled with generated
 * populations: each answer must be the pure function's over the same rows. No Temporal: the reports
 * never call it, so the LeadClient points nowhere.
 */
const API_KEY = 'reports-key-0123456789abcdef';
const NOW = Date.UTC(2025, 0, 1);
const YEAR_START = Date.UTC(2024, 0, 1);
const SPEC = yearOfCaptures({ seed: 3, leads: 2_000, from: YEAR_START, dealValue: 30_000 });

/** A store as the worker would leave it at NOW: the changes made by then. */
const rows: StageChangeRow[] = stageChangePopulation(SPEC).filter((r) => r.at <= NOW);
const leads = byLead(rows);
const journaled: JournaledPopulationLead[] = journalPopulation({
  seed: 9,
  leads: 300,
  from: YEAR_START,
  to: YEAR_START + 180 * DAY_MS,
});

let root: string;
let connection: Connection;
const stores: SqliteAnalyticsStore[] = [];
const apps: FastifyInstance[] = [];
/** Reports over `rows`. */
let reports: FastifyInstance;
/** Backtests over `journaled`. */
let journal: FastifyInstance;
let empty: FastifyInstance;

async function appOver(
  dir: string,
  liveConfig: LeadcycleConfigInput = {},
): Promise<{ app: FastifyInstance; store: SqliteAnalyticsStore }> {
  const store = openAnalyticsStore(dir);
  const client = new LeadClient(new Client({ connection }), { taskQueue: 'nowhere' });
  const analytics = new Analytics(store, () => NOW, liveConfig);
  const app = await buildApi({ client, apiKeys: [API_KEY], analytics });
  stores.push(store);
  apps.push(app);
  return { app, store };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'leadcycle-reports-api-'));
  // Nothing listens on port 1: any call to Temporal would fail, and none is made.
  connection = Connection.lazy({ address: '127.0.0.1:1' });

  const filled = await appOver(join(root, 'reports'));
  for (const row of rows) await filled.store.recordStageChange(row);
  reports = filled.app;

  const replayed = await appOver(join(root, 'journal'));
  await recordPopulation(replayed.store, journaled);
  journal = replayed.app;

  empty = (await appOver(join(root, 'empty'))).app;
});

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const store of stores) await store.close();
  await connection?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function call(app: FastifyInstance, options: InjectOptions & { auth?: boolean }) {
  const { auth = true, ...request } = options;
  const response = await app.inject({
    ...request,
    headers: { ...(auth ? { authorization: `Bearer ${API_KEY}` } : {}), ...request.headers },
  });
  if (response.statusCode >= 400) {
    // Every error is an RFC 9457 problem with a code, and never a stack trace.
    expect(response.headers['content-type']).toBe('application/problem+json; charset=utf-8');
    expect(response.json()).toMatchObject({
      type: expect.any(String),
      title: expect.any(String),
      status: response.statusCode,
      detail: expect.any(String),
      code: expect.any(String),
    });
    expect(response.body).not.toMatch(/\n\s+at |\.ts:\d+/);
  }
  return response;
}

const get = (app: FastifyInstance, url: string) => call(app, { method: 'GET', url });
const post = (app: FastifyInstance, url: string, payload: unknown) =>
  call(app, { method: 'POST', url, payload: payload as Record<string, unknown> });
const at = (iso: string) => Date.parse(iso);

describe('reports', () => {
  it('GET /v1/reports/stages: the pure counts, now or at an instant', async () => {
    const now = await get(reports, '/v1/reports/stages');
    expect(now.statusCode).toBe(200);
    expect(now.json()).toEqual(stagesView(stageCounts(leads, NOW)));
    // Times answer as ISO 8601 in UTC, whatever offset the query had.
    expect(now.json().at).toBe('2025-01-01T00:00:00.000Z');
    const past = await get(reports, '/v1/reports/stages?at=2024-06-01T12:00:00%2B02:00');
    expect(past.json()).toEqual(stagesView(stageCounts(leads, at('2024-06-01T10:00:00Z'))));
    expect(past.json().at).toBe('2024-06-01T10:00:00.000Z');
  });

  it('GET /v1/reports/conversion: the pure funnel, by default for the 90 days before asOf', async () => {
    const period = await get(reports, '/v1/reports/conversion?from=2024-01-01&to=2024-07-01&asOf=2024-10-01');
    expect(period.json()).toEqual(
      conversionView(conversion(leads, { from: at('2024-01-01'), to: at('2024-07-01') }, at('2024-10-01'))),
    );
    expect(period.json()).toMatchObject({
      period: { from: '2024-01-01T00:00:00.000Z', to: '2024-07-01T00:00:00.000Z' },
      asOf: '2024-10-01T00:00:00.000Z',
    });
    const byDefault = await get(reports, '/v1/reports/conversion');
    expect(byDefault.json()).toEqual(
      conversionView(conversion(leads, { from: NOW - 90 * DAY_MS, to: NOW }, NOW)),
    );
    // One end given: the other is 90 days away (to) or asOf (from).
    const toOnly = await get(reports, '/v1/reports/conversion?to=2024-06-01');
    expect(toOnly.json().period).toEqual({
      from: '2024-03-03T00:00:00.000Z',
      to: '2024-06-01T00:00:00.000Z',
    });
  });

  it('GET /v1/reports/velocity and /v1/reports/sla: the pure reports, for a period or all time', async () => {
    const period = { from: at('2024-03-01'), to: at('2024-09-01') };
    expect((await get(reports, '/v1/reports/velocity?from=2024-03-01&to=2024-09-01')).json()).toEqual(
      velocityView(velocity(leads, NOW, period)),
    );
    expect((await get(reports, '/v1/reports/velocity')).json()).toEqual(
      velocityView(velocity(leads, NOW, null)),
    );
    const sla = await get(reports, '/v1/reports/sla?slaHours=24&from=2024-03-01&to=2024-09-01');
    expect(sla.json()).toEqual(slaView(salesSla(leads, { slaHours: 24, asOf: NOW, period })));
    expect(sla.json().breaches).toBeGreaterThan(0);
    const [worst] = sla.json().worst;
    expect(Date.parse(worst.deadline) - Date.parse(worst.mqlAt)).toBe(24 * 3_600_000);
    expect(worst.mqlAt).toMatch(/^2024-0[3-8]-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    // The default SLA is the live config's: the built-in 48 hours here, 12 for a live config that says so.
    expect((await get(reports, '/v1/reports/sla')).json()).toEqual(
      slaView(salesSla(leads, { slaHours: 48, asOf: NOW, period: null })),
    );
    const strict = (await appOver(join(root, 'reports'), { salesSlaHours: 12 })).app;
    expect((await get(strict, '/v1/reports/sla')).json()).toEqual(
      slaView(salesSla(leads, { slaHours: 12, asOf: NOW, period: null })),
    );
  });

  it('GET /v1/reports/cohorts and /v1/reports/forecast: the pure reports', async () => {
    expect((await get(reports, '/v1/reports/cohorts')).json()).toEqual(cohortsView(cohorts(leads, NOW)));
    const given = await get(reports, '/v1/reports/forecast?horizonDays=60&dealValue=1000');
    expect(given.json()).toEqual(
      forecastView(forecast(leads, { asOf: NOW, horizonDays: 60, dealValue: 1000 })),
    );
    const byDefault = await get(reports, '/v1/reports/forecast');
    expect(byDefault.json()).toEqual(forecastView(forecast(leads, { asOf: NOW, horizonDays: 90 })));
    expect(byDefault.json().asOf).toBe('2025-01-01T00:00:00.000Z');
    expect(byDefault.json().expectedCustomers).toBeGreaterThan(0);
    expect(byDefault.json().dealValue).toBe(SPEC.dealValue);
  });

  it('answers an empty store with zeros, not errors', async () => {
    expect((await get(empty, '/v1/reports/stages')).json()).toMatchObject({ total: 0 });
    for (const report of ['conversion', 'velocity', 'sla', 'cohorts', 'forecast']) {
      expect((await get(empty, `/v1/reports/${report}`)).statusCode, report).toBe(200);
    }
  });

  it('a query that does not parse is a 400 naming the parameter', async () => {
    const cases: Array<[string, string]> = [
      ['/v1/reports/stages?at=yesterday', 'at'],
      ['/v1/reports/stages?at=2024-02-30', 'at'],
      ['/v1/reports/conversion?asOf=2024-06-01T10:00:00', 'asOf'],
      ['/v1/reports/forecast?horizonDays=-1', 'horizonDays'],
      ['/v1/reports/forecast?horizonDays=soon', 'horizonDays'],
      ['/v1/reports/forecast?dealValue=-5', 'dealValue'],
      ['/v1/reports/sla?slaHours=0', 'slaHours'],
      ['/v1/reports/velocity?from=2024-06-01&to=2024-01-01', 'from'],
      ['/v1/reports/cohorts?asOf=2024-01-01', 'asOf'],
      // Before 1970 or past year 9999: not an instant the answer could write in ISO 8601.
      ['/v1/reports/stages?at=1969-12-31', 'at'],
      ['/v1/reports/conversion?to=9999-12-31T23:00:00-14:00', 'to'],
    ];
    for (const [url, field] of cases) {
      const res = await get(reports, url);
      expect(res.statusCode, url).toBe(400);
      expect(res.json(), url).toMatchObject({
        code: 'validation',
        issues: [{ in: 'querystring', path: field }],
      });
    }
    const date = await get(reports, '/v1/reports/stages?at=yesterday');
    expect(date.json().detail).toMatch(/^at: expected an ISO 8601 date/);
  });

  it('every analytics route wants an API key', async () => {
    for (const url of ['/v1/reports/stages', '/v1/reports/forecast', '/v1/charts/funnel.svg']) {
      const res = await call(reports, { method: 'GET', url, auth: false });
      expect(res.statusCode, url).toBe(401);
      expect(res.json().code).toBe('unauthorized');
    }
    const res = await call(reports, {
      method: 'POST',
      url: '/v1/backtests',
      payload: { config: {} },
      auth: false,
    });
    expect(res.statusCode).toBe(401);
  });
});

describe('charts', () => {
  it('GET /v1/charts/funnel.svg and velocity.svg answer image/svg+xml', async () => {
    const funnel = await get(reports, '/v1/charts/funnel.svg?from=2024-01-01&to=2024-07-01');
    expect(funnel.statusCode).toBe(200);
    expect(funnel.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
    expect(funnel.body).toMatch(/^<svg [\s\S]*Lead funnel[\s\S]*<\/svg>$/);
    const times = await get(reports, '/v1/charts/velocity.svg');
    expect(times.statusCode).toBe(200);
    expect(times.headers['content-type']).toBe('image/svg+xml; charset=utf-8');
    expect(times.body).toMatch(/^<svg [\s\S]*Time in stage/);
  });

  it('a chart without data is a 409, and a bad period a 400', async () => {
    const none = await get(empty, '/v1/charts/velocity.svg');
    expect(none.statusCode).toBe(409);
    expect(none.json().code).toBe('no_data');
    // An empty funnel is still a funnel: zero leads at every step.
    expect((await get(empty, '/v1/charts/funnel.svg')).statusCode).toBe(200);
    const bad = await get(reports, '/v1/charts/funnel.svg?to=tomorrow');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues).toEqual([expect.objectContaining({ path: 'to' })]);
  });
});

describe('backtests', () => {
  async function* replayable() {
    for (const { lead, events } of journaled) yield { lead, events };
  }

  it('POST /v1/backtests: the pure backtest of the journal under the what-if config', async () => {
    const body = { config: { mqlThreshold: 30 }, label: 'threshold 30', until: '2024-12-01' };
    const res = await post(journal, '/v1/backtests', body);
    expect(res.statusCode).toBe(200);
    const expected = await backtest(replayable(), [{ label: 'threshold 30', config: { mqlThreshold: 30 } }], {
      until: at('2024-12-01'),
      recorded: byLead(journaled.flatMap((l) => l.changes)),
    });
    expect(res.json()).toEqual(backtestView(expected));
    expect(res.json().until).toBe('2024-12-01T00:00:00.000Z');
    expect(res.json().series.map((s: { label: string }) => s.label)).toEqual(['actual', 'threshold 30']);

    // Defaults: label "what-if", until now.
    const byDefault = await post(journal, '/v1/backtests', { config: {} });
    expect(byDefault.json()).toMatchObject({ leads: journaled.length, until: '2025-01-01T00:00:00.000Z' });
    expect(byDefault.json().series[1].label).toBe('what-if');
  });

  it('the what-if changes only the fields it names in the live config', async () => {
    // Live: only marketing leaders fit, so no generated lead (IT people) can become an MQL.
    const marketingOnly = { personas: [{ id: 'm', name: 'Marketing', jobFunctions: ['marketing'] }] };
    const live = (await appOver(join(root, 'journal'), marketingOnly)).app;
    const res = await post(live, '/v1/backtests', { config: { mqlThreshold: 30 }, until: '2024-12-01' });
    expect(res.statusCode).toBe(200);
    const expected = await backtest(
      replayable(),
      [{ label: 'what-if', config: { ...marketingOnly, mqlThreshold: 30 } }],
      { until: at('2024-12-01'), recorded: byLead(journaled.flatMap((l) => l.changes)) },
    );
    expect(res.json()).toEqual(backtestView(expected));
    expect(res.json().series[1].funnel.find((s: { stage: string }) => s.stage === 'mql').leads).toBe(0);
  });

  it('an empty journal is a 409 no_leads', async () => {
    const res = await post(empty, '/v1/backtests', { config: { mqlThreshold: 30 } });
    expect(res.statusCode).toBe(409);
    expect(res.json()).toEqual({
      type: '/problems/no_leads',
      title: 'No leads to replay',
      status: 409,
      detail: 'the journal holds no leads to replay',
      instance: '/v1/backtests',
      code: 'no_leads',
    });
  });

  it('a bad config is a 400 naming the field', async () => {
    const cases: Array<[unknown, string]> = [
      [{ config: { mqlThreshold: 'high' } }, 'config.mqlThreshold'],
      [{ config: { mqlTreshold: 30 } }, 'config.mqlTreshold'],
      [{ config: { emailCap: { max: 0 } } }, 'config.emailCap.max'],
      [{ config: { personas: [] } }, 'config.personas'],
      [{ config: {}, until: 'later' }, 'until'],
      [{ config: {}, label: 'actual' }, 'label'],
      [{}, 'config'],
    ];
    for (const [body, field] of cases) {
      const res = await post(empty, '/v1/backtests', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().issues, JSON.stringify(body)).toContainEqual(
        expect.objectContaining({ in: 'body', path: field }),
      );
    }
    const text = await call(empty, {
      method: 'POST',
      url: '/v1/backtests',
      payload: 'config',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.statusCode).toBe(415);
  });

  it('a closed store is a 503, not a 500', async () => {
    const { app, store } = await appOver(join(root, 'closing'));
    await store.close();
    const res = await get(app, '/v1/reports/stages');
    expect(res.statusCode).toBe(503);
    expect(res.json().code).toBe('analytics_unavailable');
  });
});

describe('the OpenAPI document', () => {
  it('documents every analytics route with its parameters, responses and components', async () => {
    const doc = (await call(reports, { method: 'GET', url: '/openapi.json', auth: false })).json();
    const routes = {
      '/v1/reports/stages': ['get', 'StageCountsReport'],
      '/v1/reports/conversion': ['get', 'ConversionReport'],
      '/v1/reports/velocity': ['get', 'VelocityReport'],
      '/v1/reports/sla': ['get', 'SlaReport'],
      '/v1/reports/cohorts': ['get', 'CohortReport'],
      '/v1/reports/forecast': ['get', 'ForecastReport'],
      '/v1/backtests': ['post', 'BacktestReport'],
    } as const;
    for (const [path, [method, schema]] of Object.entries(routes)) {
      const operation = doc.paths[path]?.[method];
      expect(operation, path).toBeDefined();
      expect(operation.tags).toEqual(['analytics']);
      expect(operation.responses['200'].content['application/json'].schema).toEqual({
        $ref: `#/components/schemas/${schema}`,
      });
      expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['200', '400', '401']));
    }
    for (const path of ['/v1/charts/funnel.svg', '/v1/charts/velocity.svg']) {
      expect(doc.paths[path].get.responses['200'].content).toHaveProperty('image/svg+xml');
    }
    expect(doc.paths['/v1/charts/velocity.svg'].get.responses).toHaveProperty('409');
    expect(doc.paths['/v1/backtests'].post.responses).toHaveProperty('409');
    // Backtests as jobs: 202 with the job on Prefer: respond-async, 429 beyond the concurrency, and the job's routes.
    expect(doc.paths['/v1/backtests'].post.responses['202'].content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/BacktestJob',
    });
    expect(doc.paths['/v1/backtests'].post.responses).toHaveProperty('429');
    for (const method of ['get', 'delete']) {
      const job = doc.paths['/v1/backtests/{id}'][method];
      expect(job.responses['200'].content['application/json'].schema, method).toEqual({
        $ref: '#/components/schemas/BacktestJob',
      });
      expect(Object.keys(job.responses), method).toEqual(expect.arrayContaining(['400', '401', '404']));
    }
    // Times answer as ISO 8601 date-times, and the document says so.
    const schemas = doc.components.schemas;
    const dateTime = expect.objectContaining({ type: 'string', format: 'date-time' });
    expect(schemas.StageCountsReport.properties.at).toEqual(dateTime);
    expect(schemas.ReportPeriod.properties).toEqual({ from: dateTime, to: dateTime });
    expect(schemas.SlaReport.properties.worst.items.properties).toMatchObject({
      mqlAt: dateTime,
      deadline: dateTime,
    });
    for (const name of [
      'ConversionReport',
      'VelocityReport',
      'SlaReport',
      'CohortReport',
      'ForecastReport',
    ]) {
      expect(schemas[name].properties.asOf, name).toEqual(dateTime);
    }
    expect(schemas.BacktestReport.properties.until).toEqual(dateTime);
    expect(schemas.BacktestJob.properties).toMatchObject({ until: dateTime, createdAt: dateTime });
    expect(schemas.BacktestJob.properties.finishedAt.anyOf).toContainEqual(dateTime);
    expect(doc.paths['/v1/backtests'].post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/BacktestRequestInput',
    });
    expect(doc.components.schemas.BacktestRequestInput.properties.config).toEqual({
      $ref: '#/components/schemas/LeadcycleConfigInput',
    });
    const forecastParams = doc.paths['/v1/reports/forecast'].get.parameters.map(
      (p: { name: string }) => p.name,
    );
    expect(forecastParams).toEqual(['horizonDays', 'dealValue', 'tenant']);
    for (const ref of JSON.stringify(doc).match(/#\/components\/schemas\/[A-Za-z]+/g) ?? []) {
      expect(doc.components.schemas, ref).toHaveProperty(ref.split('/').pop() as string);
    }
  });
});
