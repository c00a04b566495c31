import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Analytics,
  BacktestJobs,
  openAnalyticsStore,
  type SqliteAnalyticsStore,
} from '../../src/analytics/index.js';
import { buildApi } from '../../src/api/server.js';
import { LeadClient } from '../../src/client/index.js';
import { DEMO_CONFIG } from '../../src/demo.js';
import { DAY_MS, LeadcycleConfigSchema } from '../../src/machines/index.js';
import { journalPopulation, recordPopulation } from '../support/population.js';

/**
 * /v1/backtests as jobs, over real HTTP servers and real threads: a long backtest leaves the API
 * answering, stops at its time box, and stops when cancelled or when its waiting client leaves.
 * No Temporal: backtests never call it, so the LeadClient points nowhere.
 */
const API_KEY = 'backtest-jobs-key-0123456789abcdef';
const NOW = Date.UTC(2025, 0, 1);
const FROM = Date.UTC(2024, 0, 1);
const journaled = journalPopulation({ seed: 9, leads: 300, from: FROM, to: FROM + 180 * DAY_MS });

/**
 * Legal but long: a daily decay tick that never stops (the score never halves) over twenty years
 * feeds some 7,300 timers per lead, two million in all: half a minute of replay on an idle 2-core
 * machine. At an MQL threshold of 0 a decay tick can change a stage (a negative score decaying to 0
 * reaches it), so the backtest cannot leave the ticks out (`stagelessTimers`).
 */
const SLOW = {
  config: { mqlThreshold: 0, decayTickDays: 1, decayHalfLifeDays: 1_000_000 },
  until: '2044-01-01',
};
const QUICK = { config: { mqlThreshold: 30 }, until: '2024-12-01' };
/** Times answer as ISO 8601, UTC. */
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let root: string;
let connection: Connection;
let store: SqliteAnalyticsStore;
const apps: FastifyInstance[] = [];
/** Jobs of `api`, watched directly: threads alive, and how each job ended. */
let jobs: BacktestJobs;
let api: string;
/** The same journal, with a 2 s time box. */
let boxed: string;

async function serve(backtests: BacktestJobs | { timeoutMs: number }): Promise<string> {
  const client = new LeadClient(new Client({ connection }), { taskQueue: 'nowhere' });
  const app = await buildApi({
    client,
    apiKeys: [API_KEY],
    analytics: new Analytics(store, () => NOW),
    backtests,
  });
  apps.push(app);
  return app.listen({ port: 0, host: '127.0.0.1' });
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'leadcycle-backtest-jobs-'));
  connection = Connection.lazy({ address: '127.0.0.1:1' });
  store = openAnalyticsStore(join(root, 'journal'));
  await recordPopulation(store, journaled);
  jobs = BacktestJobs.over(store, { timeoutMs: 300_000, concurrency: 1 });
  api = await serve(jobs);
  boxed = await serve({ timeoutMs: 2_000 });
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await store?.close();
  await connection?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

async function call(base: string, method: string, path: string, body?: unknown, headers = {}) {
  const started = performance.now();
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${API_KEY}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    body: text ? JSON.parse(text) : null,
    ms: performance.now() - started,
  };
}

const async = { prefer: 'respond-async' };
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(
  probe: () => T | Promise<T>,
  what: string,
  timeoutMs = 30_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await pause(50);
  }
}

/** CPU this process (every thread) uses over `ms`, in ms. */
async function cpuOver(ms: number): Promise<number> {
  const before = process.cpuUsage();
  await pause(ms);
  const { user, system } = process.cpuUsage(before);
  return (user + system) / 1000;
}

describe('backtests as jobs', () => {
  it('a long backtest runs off the event loop: /healthz answers at once; DELETE stops its thread', async () => {
    const started = await call(api, 'POST', '/v1/backtests', SLOW, async);
    expect(started.status).toBe(202);
    expect(started.headers.get('preference-applied')).toBe('respond-async');
    const location = started.headers.get('location') as string;
    expect(location).toBe(`/v1/backtests/${started.body.id}`);
    expect(started.body).toMatchObject({
      status: 'running',
      label: 'what-if',
      until: '2044-01-01T00:00:00.000Z',
      createdAt: expect.stringMatching(ISO),
      finishedAt: null,
    });

    // Once the thread replays (this process burns CPU)…
    await until(async () => (await cpuOver(500)) > 200, 'the replay to use CPU');
    // …health checks and other requests are answered without waiting.
    const probes: number[] = [];
    for (let i = 0; i < 20; i++) {
      const health = await call(api, 'GET', '/healthz');
      expect(health.status).toBe(200);
      probes.push(health.ms);
      await pause(100);
    }
    expect(Math.max(...probes), probes.join(', ')).toBeLessThan(200);
    expect((await call(api, 'GET', location)).body.status).toBe('running');
    expect(jobs.running).toBe(1);

    // One at a time: another is refused with when to retry, not queued behind it.
    const second = await call(api, 'POST', '/v1/backtests', QUICK, async);
    expect(second.status).toBe(429);
    expect(second.body.code).toBe('too_many_backtests');
    expect(Number(second.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    // DELETE answers once the thread has exited: nothing runs, nothing burns CPU.
    const cancelled = await call(api, 'DELETE', location);
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({
      status: 'cancelled',
      error: { code: 'backtest_cancelled' },
      finishedAt: expect.stringMatching(ISO),
      result: null,
    });
    expect(jobs.running).toBe(0);
    expect(await cpuOver(1_000)).toBeLessThan(300);
    expect((await call(api, 'GET', location)).body.status).toBe('cancelled');

    // The slot is free again; a job's report is at its Location once done.
    const next = await call(api, 'POST', '/v1/backtests', { ...QUICK, label: 'threshold 30' }, async);
    expect(next.status).toBe(202);
    const done = await until(async () => {
      const job = await call(api, 'GET', next.headers.get('location') as string);
      return job.body.status === 'running' ? null : job.body;
    }, 'the quick job');
    expect(done).toMatchObject({ status: 'succeeded', label: 'threshold 30', error: null });
    expect(done.result.leads).toBe(journaled.length);
    expect(done.result.until).toBe('2024-12-01T00:00:00.000Z');
    expect(Date.parse(done.finishedAt)).toBeGreaterThanOrEqual(Date.parse(done.createdAt));
    expect(done.result.series.map((s: { label: string }) => s.label)).toEqual(['actual', 'threshold 30']);
  });

  it('a client that leaves takes its backtest with it: the thread is stopped, the job cancelled', async () => {
    const request = httpRequest(`${api}/v1/backtests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    });
    request.on('error', () => {}); // destroyed on purpose below
    request.end(JSON.stringify(SLOW));
    const job = await until(() => jobs.list().find((j) => j.status === 'running'), 'the waiting backtest');
    await pause(500);
    expect(jobs.get(job.id)?.status).toBe('running');

    request.destroy();
    const ended = await until(() => jobs.wait(job.id), 'the thread to exit', 10_000);
    expect(ended).toMatchObject({
      status: 'cancelled',
      error: { code: 'backtest_cancelled', message: 'the client left before the report' },
    });
    expect(jobs.running).toBe(0);
    expect(await cpuOver(1_000)).toBeLessThan(300);
  });

  it('a backtest past its time box ends with backtest_timeout, and frees its slot', async () => {
    const started = performance.now();
    const res = await call(boxed, 'POST', '/v1/backtests', SLOW);
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('backtest_timeout');
    expect(res.body.detail).toMatch(/longer than 2 s.*LEADCYCLE_BACKTEST_TIMEOUT_MS/);
    expect(performance.now() - started).toBeLessThan(20_000);

    const job = await call(boxed, 'POST', '/v1/backtests', SLOW, async);
    expect(job.status).toBe(202);
    const failed = await until(async () => {
      const view = (await call(boxed, 'GET', job.headers.get('location') as string)).body;
      return view.status === 'running' ? null : view;
    }, 'the time box');
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'backtest_timeout' } });
  });

  it('an unknown job is a 404, a malformed id a 400 naming it', async () => {
    const unknown = await call(api, 'GET', '/v1/backtests/6f1c4d1e-1111-4222-8333-944455556666');
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('backtest_not_found');
    const bad = await call(api, 'DELETE', '/v1/backtests/not-an-id');
    expect(bad.status).toBe(400);
    expect(bad.body.issues).toEqual([expect.objectContaining({ in: 'params', path: 'id' })]);
  });
});

describe('timer minimums', () => {
  it('a what-if with a timer below the backtest floor is a 400 naming the field and the minimum', async () => {
    const cases: Array<[object, string, RegExp]> = [
      [{ decayTickDays: 0.01 }, 'config.decayTickDays', /^must be at least 1 day in a backtest/],
      [{ salesSlaHours: 0.5 }, 'config.salesSlaHours', /^must be at least 1 hour in a backtest/],
      [
        { nurtureCadenceDays: 0.01 },
        'config.nurtureCadenceDays',
        /^must be at least 1 hour \(0\.0417 days\)/,
      ],
      [{ emailCap: { windowDays: 0.001 } }, 'config.emailCap.windowDays', /^must be at least 1 hour/],
      [{ renurtureCooldownDays: 0.02 }, 'config.renurtureCooldownDays', /^must be at least 1 hour/],
      [{ newsletterCadenceDays: 0.02 }, 'config.newsletterCadenceDays', /^must be at least 1 hour/],
    ];
    for (const [config, path, message] of cases) {
      const res = await call(api, 'POST', '/v1/backtests', { config }, async);
      expect(res.status, path).toBe(400);
      expect(res.body.issues, path).toEqual([{ in: 'body', path, message: expect.stringMatching(message) }]);
    }
    expect(jobs.running).toBe(0);
  });

  it('every config keeps its timers at one second or more; the fast-clock demo config is one', () => {
    const parsed = LeadcycleConfigSchema.safeParse({ decayTickDays: 0.00001, salesSlaHours: 0 });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['decayTickDays', 'must be at least 1 second (0.0000116 days)'],
      ['salesSlaHours', 'must be at least 1 second (0.000278 hours)'],
    ]);
    expect(LeadcycleConfigSchema.safeParse(DEMO_CONFIG).success).toBe(true);
  });
});
