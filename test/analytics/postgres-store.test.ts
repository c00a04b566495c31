import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createActivities, Outbox, OutboxCrm, OutboxSender, readOutbox } from '../../src/activities/index.js';
import {
  Analytics,
  BacktestJobs,
  openServedStore,
  PG_MIGRATIONS,
  PostgresAnalyticsStore,
} from '../../src/analytics/index.js';
import type { StageChangeRow } from '../../src/analytics/records.js';
import { buildApi } from '../../src/api/server.js';
import { LeadClient } from '../../src/client/index.js';
import { readSettings } from '../../src/settings.js';
import { sharedMemoryAttached } from '../../src/temporal/postgres.js';
import { contentSend, tempDir } from '../activities/helpers.js';
import { journalPopulation, recordPopulation } from '../support/population.js';
import { useTestStores } from '../support/stores.js';
import { eventually } from '../support/workflow.js';

/** What only the PostgreSQL store has to prove: many processes on one database, and its faults. */
const stores = useTestStores();

const T0 = Date.UTC(2025, 0, 15, 9, 30);
const change = (leadId: string, seq: number, over: Partial<StageChangeRow> = {}): StageChangeRow => ({
  key: `wf-${leadId}/${seq}`,
  leadId,
  seq,
  from: null,
  to: 'lead',
  at: T0 + seq,
  cause: 'capture',
  reason: null,
  amount: null,
  ...over,
});

async function rowsOf(url: string, sql: string): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {}); // the query reports it
  await client.connect();
  try {
    return (await client.query(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('PostgresAnalyticsStore', () => {
  it('migrates once when several processes open the same database at once', async () => {
    const url = await stores.database();
    const opened = Array.from({ length: 4 }, () => new PostgresAnalyticsStore(url));
    try {
      // Each first call migrates: under the advisory lock, one applies, the others find it applied.
      const results = await Promise.all(opened.map((s, i) => s.recordStageChange(change('a', i + 1))));
      expect(results).toEqual(opened.map(() => ({ recorded: true })));
      const versions = await rowsOf(url, 'SELECT version, name FROM schema_migrations ORDER BY version');
      expect(versions).toEqual(PG_MIGRATIONS.map(({ version, name }) => ({ version, name })));
    } finally {
      await Promise.all(opened.map((s) => s.close()));
    }
  });

  it('refuses a database migrated by a newer leadcycle', async () => {
    const url = await stores.database();
    const first = new PostgresAnalyticsStore(url);
    await first.stageChanges();
    await first.close();
    await rowsOf(url, "INSERT INTO schema_migrations (version, name) VALUES (999, 'from the future')");
    const second = new PostgresAnalyticsStore(url);
    await expect(second.stageChanges()).rejects.toMatchObject({ code: 'schema_too_new' });
    await second.close();
  });

  it('answers a re-write from another process as already recorded, rows unchanged', async () => {
    const url = await stores.database();
    const [a, b] = [new PostgresAnalyticsStore(url), new PostgresAnalyticsStore(url)];
    try {
      const row = change('x', 1, { tenant: 'acme', amount: 10.5 });
      const writes = await Promise.all([a.recordStageChange(row), b.recordStageChange(row)]);
      expect(writes.map((w) => w.recorded).sort()).toEqual([false, true]);
      expect(await b.recordStageChanges([row, change('x', 2)])).toEqual({ recorded: 1 });
      const lead = { leadId: 'x', createdAt: T0, tenant: 'acme' };
      const entry = {
        leadId: 'x',
        seq: 1,
        event: { type: 'visit' as const, at: T0, channel: 'web' as const },
      };
      expect(await a.recordJournal(lead, [entry])).toEqual({ recorded: 1 });
      expect(await b.recordJournal(lead, [entry])).toEqual({ recorded: 0 });
      // The tenant learnt from the journal reaches the lead's older rows (the SQLite store's migration 5).
      expect((await a.stageChanges({ tenant: 'acme' })).map((r) => r.seq)).toEqual([1, 2]);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('fails a call with `unavailable` while PostgreSQL is down, and recovers on the next one', async () => {
    const url = await stores.database();
    const store = new PostgresAnalyticsStore(url, { connectTimeoutMs: 1_000 });
    const health: string[] = [];
    store.watch((h) => health.push(h.status));
    try {
      expect(await store.recordStageChange(change('r', 1))).toEqual({ recorded: true });
      await stores.postgres.kill();
      await expect(store.recordStageChange(change('r', 2))).rejects.toMatchObject({
        name: 'AnalyticsStoreError',
        code: 'unavailable',
      });
      await expect(store.suppression('acme', 'a'.repeat(64))).rejects.toMatchObject({ code: 'unavailable' });
      expect(store.health()).toMatchObject({ status: 'degraded', code: 'unavailable' });
      await stores.postgres.start();
      // The pool's dead connections are dropped; the retried write lands once.
      expect(await store.recordStageChange(change('r', 2))).toEqual({ recorded: true });
      expect(await store.recordStageChange(change('r', 2))).toEqual({ recorded: false });
      expect((await store.stageChanges()).map((r) => r.seq)).toEqual([1, 2]);
      expect(health).toEqual(['up', 'degraded', 'up']);
    } finally {
      await store.close();
    }
  }, 30_000);

  it("kill() returns once the killed server's backends let go of its shared memory: start() may follow at once", async () => {
    const url = await stores.database();
    // Busy backends, as Temporal keeps dozens: each must notice its postmaster died, and exit.
    const clients = Array.from({ length: 30 }, () => new pg.Client({ connectionString: url }));
    for (const client of clients) client.on('error', () => {}); // the kill cuts them off
    await Promise.all(clients.map((c) => c.connect()));
    const sleeping = clients.map((c) => c.query('SELECT pg_sleep(30)').catch(() => null));
    const attached = () => sharedMemoryAttached(stores.postgres.dataDir);
    await eventually(async () => expect(await attached()).toBeGreaterThan(30), 10_000);
    await stores.postgres.kill();
    expect(await attached()).toBe(0);
    await Promise.all(sleeping);
    await Promise.all(clients.map((c) => c.end().catch(() => {})));
    await stores.postgres.start();
    expect(await rowsOf(url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
  }, 60_000);

  it('names an unreachable database without its password', async () => {
    const url = 'postgres://leadcycle:s3cret-Pa55@127.0.0.1:1/analytics';
    const store = new PostgresAnalyticsStore(url, { connectTimeoutMs: 1_000 });
    const err = await store.stageChanges().catch((e: unknown) => e);
    await store.close();
    expect(err).toMatchObject({ name: 'AnalyticsStoreError', code: 'unavailable' });
    const message = (err as Error).message;
    expect(message).toContain('postgres://leadcycle@127.0.0.1:1/analytics');
    expect(message).not.toContain('s3cret');
    expect(store.location).not.toContain('s3cret');
  });

  it('is what LEADCYCLE_DATABASE_URL selects, with its reports computed in SQL', async () => {
    const url = await stores.database();
    const settings = readSettings({ LEADCYCLE_DATABASE_URL: url });
    const store = openServedStore('/nonexistent', settings, { drain: true });
    try {
      expect(store).toBeInstanceOf(PostgresAnalyticsStore);
      await store.recordStageChange(change('s', 1));
      expect((await new Analytics(store, () => T0 + 10).stages()).stages.lead).toBe(1);
      expect(await store.probe()).toEqual({ status: 'up' });
    } finally {
      await store.close();
    }
    expect(() => readSettings({ LEADCYCLE_DATABASE_URL: 'mysql://x@h/db' })).toThrow(
      /LEADCYCLE_DATABASE_URL/,
    );
  });

  it('serves backtest threads, which open the database by its URL', async () => {
    const store = await stores.open('PostgreSQL');
    const from = Date.UTC(2025, 0, 1);
    await recordPopulation(
      store,
      journalPopulation({ seed: 9, leads: 40, from, to: from + 30 * 86_400_000 }),
    );
    const jobs = BacktestJobs.over(store, { timeoutMs: 60_000 });
    try {
      const { id } = jobs.start({ mqlThreshold: 60 }, { label: 'what-if', until: from + 60 * 86_400_000 });
      const done = await jobs.wait(id);
      expect(done).toMatchObject({ status: 'succeeded', error: null });
      expect(done?.result?.leads).toBe(40);
    } finally {
      await jobs.close();
    }
  }, 60_000);

  it('lets no email leave unchecked while PostgreSQL is down: the send fails (Temporal retries it)', async () => {
    const url = await stores.database();
    const analytics = new PostgresAnalyticsStore(url, { connectTimeoutMs: 1_000 });
    const { dir, cleanup } = await tempDir();
    const outbox = new Outbox(dir);
    const mail = { from: 'Acme <marketing@acme.example>', unsubscribeUrl: null, unsubscribeLink: null };
    const activities = createActivities({
      outbox,
      sender: new OutboxSender(outbox, mail),
      crm: new OutboxCrm(outbox),
      analytics,
    });
    const send = {
      idempotencyKey: 'acme:email:ada@lead.example/2',
      workflowId: 'wf-ada',
      leadKey: 'acme:email:ada@lead.example',
      to: { email: 'ada@lead.example', firstName: 'Ada' },
      content: contentSend(),
    };
    try {
      await analytics.stageChanges(); // migrated
      await stores.postgres.stop();
      await expect(activities.sendContent(send)).rejects.toMatchObject({ code: 'unavailable' });
      expect(await readOutbox(dir)).toEqual([]);
      await stores.postgres.start();
      // Ada said no meanwhile (from another record): the retried send honours it.
      await activities.recordConsentChange({
        idempotencyKey: 'wf-ada-2/1',
        workflowId: 'wf-ada-2',
        leadKey: 'acme:external:42',
        address: 'ada@lead.example',
        change: {
          type: 'consent.changed',
          consent: 'withdrawn',
          doNotContact: true,
          source: 'crm',
          at: send.content.at,
        },
      });
      expect(await activities.sendContent(send)).toMatchObject({ delivered: false });
      expect((await readOutbox(dir)).filter((r) => r.kind === 'email')).toEqual([]);
    } finally {
      await analytics.close();
      await outbox.close();
      await cleanup();
    }
  }, 30_000);

  it('makes the API answer reports 503 analytics_store_unavailable while down, and 200 once back', async () => {
    const store = new PostgresAnalyticsStore(await stores.database(), { connectTimeoutMs: 1_000 });
    await store.recordStageChange(change('api', 1));
    const key = 'postgres-store-key-0123456789abcdef';
    // No Temporal: reports never call it, so the LeadClient points nowhere.
    const connection = Connection.lazy({ address: '127.0.0.1:1' });
    const app = await buildApi({
      client: new LeadClient(new Client({ connection }), { taskQueue: 'nowhere' }),
      apiKeys: [key],
      analytics: new Analytics(store, () => T0 + 10),
      backtests: { timeoutMs: 10_000 },
    });
    const stages = () =>
      app.inject({ method: 'GET', url: '/v1/reports/stages', headers: { authorization: `Bearer ${key}` } });
    try {
      await stores.postgres.stop();
      const down = await stages();
      expect(down.statusCode).toBe(503);
      expect(down.json()).toMatchObject({ code: 'analytics_store_unavailable' });
      await stores.postgres.start();
      const up = await stages();
      expect(up.statusCode).toBe(200);
      expect(up.json()).toMatchObject({ total: 1, stages: { lead: 1 } });
    } finally {
      await app.close();
      await store.close();
      await connection.close().catch(() => {});
    }
  }, 30_000);
});
