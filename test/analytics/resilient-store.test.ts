import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ANALYTICS_SPOOL_FILE,
  AnalyticsStoreError,
  addressHash,
  type EmailOutcomeRow,
  ResilientAnalyticsStore,
  type StageChangeRow,
  type StoreHealth,
} from '../../src/analytics/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const change = (leadId: string, seq: number): StageChangeRow => ({
  key: `${leadId}/${seq}`,
  leadId,
  seq,
  from: null,
  to: 'visitor',
  at: 1_000 + seq,
  cause: 'lead.started',
  reason: null,
  amount: null,
});

const sent = (leadId: string, seq: number): EmailOutcomeRow => ({
  key: `${leadId}/${seq}`,
  leadId,
  tenant: 't',
  itemId: 'discovery-1',
  title: 'Discovery guide #1',
  outcome: 'sent',
  skipReason: null,
  at: 2_000 + seq,
});

let stores: ResilientAnalyticsStore[] = [];
let locker: ChildProcess | null = null;
afterEach(async () => {
  locker?.kill('SIGKILL');
  locker = null;
  await Promise.all(stores.map((s) => s.close()));
  stores = [];
});

function open(dataDir: string, health: StoreHealth[] = []): ResilientAnalyticsStore {
  const store = new ResilientAnalyticsStore(dataDir, {
    busyTimeoutMs: 50,
    retryMs: 60_000,
    drain: false,
    log: () => {},
  });
  store.watch((h) => health.push(h));
  stores.push(store);
  return store;
}

/** Another process holding the write lock until killed. */
async function lock(file: string): Promise<void> {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `const db = new (require('better-sqlite3'))(process.argv[1]); db.exec('BEGIN EXCLUSIVE'); console.log('locked'); setInterval(() => {}, 1000);`,
      file,
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  locker = child;
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d) => String(d).includes('locked') && resolve());
    child.once('exit', () => reject(new Error('the locker exited')));
  });
}

async function unlock(): Promise<void> {
  const child = locker;
  locker = null;
  if (!child) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

describe('ResilientAnalyticsStore', () => {
  it('opens over a damaged file degraded: writes are spooled, the suppression check fails closed, a restored file takes the spool', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'leadcycle-resilient-'));
    await writeFile(join(dir, 'leadcycle.db'), 'not a database\n'.repeat(100));
    const health: StoreHealth[] = [];
    const store = open(dir, health);
    expect(store.health()).toMatchObject({ status: 'degraded', code: 'corrupt' });
    expect(await store.recordStageChange(change('lead-a', 1))).toEqual({ recorded: true });
    const refused = await store.suppression('t', addressHash('t', 'a@b.example')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AnalyticsStoreError);
    expect(refused).toMatchObject({ code: 'corrupt' });
    await expect(store.stageChanges()).rejects.toMatchObject({ code: 'corrupt' });

    await rm(join(dir, 'leadcycle.db'));
    await store.drain();
    expect(store.health()).toEqual({ status: 'up' });
    expect((await store.stageChanges()).map((c) => c.key)).toEqual(['lead-a/1']);
    expect((await readFile(join(dir, ANALYTICS_SPOOL_FILE), 'utf8')).trim()).toBe('');
    expect(health.map((h) => h.status)).toEqual(['degraded', 'up']);
  });

  it('under another process’s write lock: writes return within the busy timeout, a spooled do-not-contact suppresses at once, a forget erases the spool too', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'leadcycle-resilient-'));
    const store = open(dir);
    await store.recordStageChange(change('lead-a', 1));
    await lock(store.file);

    const started = Date.now();
    expect(await store.recordStageChange(change('lead-a', 2))).toEqual({ recorded: true });
    await store.recordStageChange(change('lead-b', 1));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(store.health()).toMatchObject({ status: 'degraded', code: 'busy' });
    // Reads pass the lock (WAL): reports and the suppression check go on.
    expect((await store.stageChanges()).map((c) => c.key)).toEqual(['lead-a/1']);
    const hash = addressHash('t', 'ada@acme.example');
    await store.suppress({ tenant: 't', addressHash: hash, reason: 'do_not_contact', at: 5 });
    expect(await store.suppression('t', hash)).toMatchObject({ reason: 'do_not_contact' });

    await unlock();
    await store.forgetLead('lead-b');
    await store.drain();
    expect(store.health()).toEqual({ status: 'up' });
    expect((await store.stageChanges()).map((c) => c.key)).toEqual(['lead-a/1', 'lead-a/2']);
    // A new store (a restarted worker) finds the suppression in the database itself.
    await store.close();
    expect(await open(dir).suppression('t', hash)).toMatchObject({ reason: 'do_not_contact' });
  });

  it('spools email outcomes it cannot write now, drains them once, and a forget erases them from the spool', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'leadcycle-resilient-'));
    const store = open(dir);
    await lock(store.file);
    expect(await store.recordEmailOutcome(sent('lead-a', 2))).toEqual({ recorded: true });
    expect(await store.recordEmailOutcome(sent('lead-a', 2))).toEqual({ recorded: true });
    await store.recordEmailOutcome(sent('lead-b', 2));
    expect(store.health()).toMatchObject({ status: 'degraded', code: 'busy' });
    expect(await store.emailOutcomes()).toEqual([]);

    await unlock();
    await store.forgetLead('lead-b');
    await store.drain();
    expect(await store.emailOutcomes()).toEqual([sent('lead-a', 2)]);
    expect((await readFile(join(dir, ANALYTICS_SPOOL_FILE), 'utf8')).trim()).toBe('');
  });
});
