import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmailOutcomeRow, JournalEntry, StageChangeRow } from '../../src/analytics/records.js';
import {
  ANALYTICS_DB_FILE,
  AnalyticsStoreError,
  LEGACY_STAGE_CHANGES_FILE,
  MIGRATIONS,
  openAnalyticsStore,
  SqliteAnalyticsStore,
} from '../../src/analytics/sqlite/index.js';
import { addressHash } from '../../src/analytics/suppression.js';
import type { LeadEvent } from '../../src/machines/index.js';
import { STORE_KINDS, useTestStores } from '../support/stores.js';

const T0 = Date.UTC(2025, 0, 15, 9, 30);
const HOUR = 3600_000;

const stores = useTestStores();

let dir: string;
let file: string;
const opened: SqliteAnalyticsStore[] = [];
const raw: Database.Database[] = [];

/** Stores and raw connections opened by a test, closed after it. */
function open(path = file): SqliteAnalyticsStore {
  const store = SqliteAnalyticsStore.open(path);
  opened.push(store);
  return store;
}
function openRaw(path = file): Database.Database {
  const db = new Database(path);
  raw.push(db);
  return db;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'leadcycle-sqlite-'));
  file = join(dir, 'nested', ANALYTICS_DB_FILE);
});
afterEach(async () => {
  for (const store of opened.splice(0)) await store.close();
  for (const db of raw.splice(0)) db.close();
  await rm(dir, { recursive: true, force: true });
});

const change = (over: Partial<StageChangeRow> & { leadId: string; seq: number }): StageChangeRow => ({
  key: `wf-${over.leadId}/${over.seq}`,
  from: 'lead',
  to: 'mql',
  at: T0,
  cause: 'engagement',
  reason: null,
  amount: null,
  ...over,
});

const email = (over: Partial<EmailOutcomeRow> & { key: string }): EmailOutcomeRow => ({
  leadId: 'a',
  tenant: 'acme',
  itemId: 'discovery-1',
  title: 'Discovery guide #1',
  outcome: 'sent',
  skipReason: null,
  at: T0,
  ...over,
});

const visit = (at: number): LeadEvent => ({ type: 'visit', at, channel: 'web' });
const entry = (leadId: string, seq: number, event: LeadEvent = visit(T0 + seq)): JournalEntry => ({
  leadId,
  seq,
  event,
});

describe('SqliteAnalyticsStore', () => {
  it('creates the folder and the tables, in WAL mode', async () => {
    open();
    expect(existsSync(file)).toBe(true);
    const db = openRaw();
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    const tables = db
      .prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table'")
      .pluck()
      .all();
    expect(tables).toEqual(
      expect.arrayContaining(['stage_changes', 'leads', 'journal', 'schema_migrations']),
    );
  });

  it('throws a typed error on a stored touch that is not one', async () => {
    const store = open();
    await store.recordStageChange(change({ leadId: 'a', seq: 1, firstTouch: { source: 'google' } }));
    openRaw().prepare(`UPDATE stage_changes SET first_touch = '{"source":"ada@acme.example"}'`).run();
    await expect(store.stageChanges()).rejects.toMatchObject({ code: 'invalid_touch' });
  });

  it('throws a typed error on a stored stage this code does not know', async () => {
    const store = open();
    await store.recordStageChange(change({ leadId: 'a', seq: 1 }));
    openRaw().prepare("UPDATE stage_changes SET to_stage = 'champion'").run();
    await expect(store.stageChanges()).rejects.toMatchObject({ code: 'unknown_stage' });
  });
});

/** What every store must do, the same on SQLite and PostgreSQL. */
describe.each(STORE_KINDS)('the %s analytics store', (kind) => {
  const open = () => stores.open(kind);

  it('records a stage change once per key', async () => {
    const store = await open();
    const row = change({ leadId: 'a', seq: 1, amount: 1200.5, reason: 'demo' });
    expect(await store.recordStageChange(row)).toEqual({ recorded: true });
    expect(await store.recordStageChange(row)).toEqual({ recorded: false });
    // Same key, other content: the first write wins, as a retry must not rewrite history.
    expect(await store.recordStageChange({ ...row, to: 'sql' })).toEqual({ recorded: false });
    expect(await store.stageChanges()).toEqual([row]);
  });

  it("keeps a change's first and last touch, and reads rows without them as before", async () => {
    const store = await open();
    const firstTouch = { source: 'google', channel: 'web' as const, utm_medium: 'cpc', utm_term: 'crm tool' };
    const lastTouch = { campaign: 'spring', form: 'demo_request' };
    const touched = change({ leadId: 'a', seq: 1, firstTouch, lastTouch });
    const plain = change({ leadId: 'b', seq: 1 });
    await store.recordStageChange(touched);
    await store.recordStageChanges([plain]);
    expect(await store.stageChanges()).toEqual([touched, plain]);
    expect((await store.stageChanges({ leadId: 'b' }))[0]).not.toHaveProperty('firstTouch');
  });

  it('records the journal once per lead and entry, counting only the new entries', async () => {
    const store = await open();
    const lead = { leadId: 'a', createdAt: T0 };
    expect(await store.recordJournal(lead, [entry('a', 1), entry('a', 2)])).toEqual({ recorded: 2 });
    expect(await store.recordJournal(lead, [entry('a', 2), entry('a', 3)])).toEqual({ recorded: 1 });
    // A retry with another createdAt keeps the first.
    expect(await store.recordJournal({ leadId: 'a', createdAt: T0 + 1 }, [])).toEqual({ recorded: 0 });
    const leads = await collect(store.journal());
    expect(leads).toEqual([{ lead, events: [visit(T0 + 1), visit(T0 + 2), visit(T0 + 3)] }]);
  });

  it('refuses an entry of another lead, recording nothing of that call', async () => {
    const store = await open();
    const call = store.recordJournal({ leadId: 'a', createdAt: T0 }, [entry('a', 1), entry('b', 1)]);
    await expect(call).rejects.toMatchObject({ name: 'AnalyticsStoreError', code: 'lead_mismatch' });
    expect(await collect(store.journal())).toEqual([]);
  });

  it('orders stage changes by lead, then seq, whatever the order they were written in', async () => {
    const store = await open();
    const rows = [
      change({ leadId: 'b', seq: 2, from: 'mql', to: 'sql', at: T0 }),
      change({ leadId: 'a', seq: 10, from: 'sql', to: 'opportunity', at: T0 + 3 * HOUR }),
      change({ leadId: 'b', seq: 1, from: null, to: 'lead', at: T0 }),
      change({ leadId: 'a', seq: 2, from: null, to: 'visitor', at: T0 + HOUR }),
      change({ leadId: 'a', seq: 9, from: 'visitor', to: 'sql', at: T0 + 3 * HOUR }),
    ];
    for (const row of rows) await store.recordStageChange(row);
    expect((await store.stageChanges()).map((r) => `${r.leadId}/${r.seq}`)).toEqual([
      'a/2',
      'a/9',
      'a/10',
      'b/1',
      'b/2',
    ]);
    expect((await store.stageChanges({ leadId: 'b' })).map((r) => r.to)).toEqual(['lead', 'sql']);
    expect(await store.stageChanges({ leadId: 'nobody' })).toEqual([]);
  });

  it('filters stage changes with since (inclusive) and until (exclusive)', async () => {
    const store = await open();
    for (let hour = 0; hour < 6; hour++) {
      await store.recordStageChange(
        change({ leadId: hour % 2 ? 'odd' : 'even', seq: hour + 1, at: T0 + hour * HOUR }),
      );
    }
    const hours = (rows: StageChangeRow[]) => rows.map((r) => (r.at - T0) / HOUR);
    expect(hours(await store.stageChanges({ since: T0 + 2 * HOUR }))).toEqual([2, 4, 3, 5]);
    expect(hours(await store.stageChanges({ until: T0 + 2 * HOUR }))).toEqual([0, 1]);
    expect(hours(await store.stageChanges({ since: T0 + HOUR, until: T0 + 4 * HOUR }))).toEqual([2, 1, 3]);
    expect(hours(await store.stageChanges({ leadId: 'odd', since: T0 + 2 * HOUR }))).toEqual([3, 5]);
    expect(await store.stageChanges({ since: T0 + 6 * HOUR })).toEqual([]);
  });

  it('streams the journal lead by lead, in order, with the leads that have no events', async () => {
    const store = await open();
    // Over two pages of leads, written out of order, so paging and grouping are both exercised.
    const keys = Array.from({ length: 2_345 }, (_, i) => `lead-${String(i).padStart(5, '0')}`);
    for (const key of [...keys].reverse()) {
      const n = Number(key.slice(-1)); // 0..9 events, so every tenth lead has none
      const entries = Array.from({ length: n }, (_, i) => entry(key, n - i)); // seq descending
      await store.recordJournal({ leadId: key, createdAt: T0 }, entries);
    }
    const seen: string[] = [];
    for await (const { lead, events } of store.journal()) {
      seen.push(lead.leadId);
      const n = Number(lead.leadId.slice(-1));
      expect(events.map((e) => e.at - T0)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    }
    expect(seen).toEqual(keys);
  });

  it('lets the consumer of the journal use the store while it streams', async () => {
    const store = await open();
    for (const key of ['a', 'b', 'c'])
      await store.recordJournal({ leadId: key, createdAt: T0 }, [entry(key, 1)]);
    let n = 0;
    for await (const { lead } of store.journal()) {
      // better-sqlite3 refuses statements while a cursor is open: the stream must not hold one.
      await store.recordStageChange(change({ leadId: lead.leadId, seq: 1 }));
      n += 1;
    }
    expect(n).toBe(3);
    expect(await store.stageChanges()).toHaveLength(3);
  });

  it('records an email outcome once per key, and reads them by tenant and until in time order', async () => {
    const store = await open();
    const sent = email({ key: 'wf-a/4', at: T0 + 2 * HOUR });
    const deferred = email({ key: 'wf-a/5#1', outcome: 'deferred', at: T0 + HOUR });
    const suppressed = email({
      key: 'wf-b/4',
      leadId: 'b',
      tenant: 'beta',
      title: null,
      outcome: 'suppressed',
      skipReason: 'hard_bounce',
      at: T0 + HOUR,
    });
    for (const row of [sent, deferred, suppressed]) {
      expect(await store.recordEmailOutcome(row)).toEqual({ recorded: true });
    }
    // A retry of the same delivery, even one that saw another outcome, rewrites nothing.
    expect(
      await store.recordEmailOutcome({ ...sent, outcome: 'suppressed', skipReason: 'email_cap' }),
    ).toEqual({ recorded: false });
    // Ties on `at` in key order, the same in both stores.
    expect(await store.emailOutcomes()).toEqual([deferred, suppressed, sent]);
    expect(await store.emailOutcomes({ tenant: 'acme' })).toEqual([deferred, sent]);
    expect(await store.emailOutcomes({ until: T0 + 2 * HOUR })).toEqual([deferred, suppressed]);
    expect(await store.emailOutcomes({ leadId: 'b' })).toEqual([suppressed]);
    await expect(store.recordEmailOutcome({ ...sent, key: 'wf-a/9', skipReason: 'erased' })).rejects.toThrow(
      /skip reason/,
    );
  });

  it('throws CLOSED after close, and closes twice quietly', async () => {
    const store = await open();
    await store.close();
    await store.close();
    await expect(store.stageChanges()).rejects.toMatchObject({ code: 'closed' });
  });
  describe('the suppression list, consent changes and forgetting a lead', () => {
    it('suppresses an address per tenant once, by its hash, whatever its case', async () => {
      const store = await open();
      const hash = addressHash('acme', ' Ada@Example.com ');
      expect(hash).toBe(addressHash('acme', 'ada@example.com'));
      expect(hash).not.toBe(addressHash('other', 'ada@example.com'));
      expect(await store.suppression('acme', hash)).toBeNull();
      const entry = { tenant: 'acme', addressHash: hash, reason: 'do_not_contact' as const, at: T0 };
      expect(await store.suppress(entry)).toEqual({ recorded: true });
      expect(await store.suppress({ ...entry, reason: 'erased', at: T0 + 1 })).toEqual({ recorded: false });
      expect(await store.suppression('acme', hash)).toEqual(entry);
      expect(await store.suppression('other', addressHash('other', 'ada@example.com'))).toBeNull();
    });

    it('keeps consent changes in order, once per key', async () => {
      const store = await open();
      const granted = {
        key: 'wf-a/2',
        leadId: 'wf-a',
        consent: 'granted' as const,
        doNotContact: false,
        source: 'form' as const,
        at: T0,
      };
      const withdrawn = {
        ...granted,
        key: 'wf-a/5',
        consent: 'withdrawn' as const,
        doNotContact: true,
        source: 'link' as const,
        at: T0 + 10,
      };
      expect(await store.recordConsentChange(withdrawn)).toEqual({ recorded: true });
      expect(await store.recordConsentChange(granted)).toEqual({ recorded: true });
      expect(await store.recordConsentChange(granted)).toEqual({ recorded: false });
      expect(await store.consentChanges('wf-a')).toEqual([granted, withdrawn]);
      expect(await store.consentChanges('wf-b')).toEqual([]);
    });

    it('forgets everything of one lead but its suppression', async () => {
      const store = await open();
      await store.recordStageChange(change({ leadId: 'a', seq: 1 }));
      await store.recordStageChange(change({ leadId: 'b', seq: 1 }));
      await store.recordJournal({ leadId: 'a', createdAt: T0 }, [entry('a', 1), entry('a', 2)]);
      await store.recordConsentChange({
        key: 'a/3',
        leadId: 'a',
        consent: 'granted',
        doNotContact: false,
        source: 'form',
        at: T0,
      });
      await store.recordEmailOutcome(email({ key: 'a/4' }));
      await store.recordEmailOutcome(email({ key: 'b/4', leadId: 'b' }));
      const hash = addressHash('acme', 'ada@example.com');
      await store.suppress({ tenant: 'acme', addressHash: hash, reason: 'erased', at: T0 });
      // stage change, two journal entries, the lead, the consent change, the email outcome
      expect(await store.forgetLead('a')).toEqual({ removed: 6 });
      expect((await store.emailOutcomes()).map((r) => r.leadId)).toEqual(['b']);
      expect(await store.stageChanges({ leadId: 'a' })).toEqual([]);
      expect(await store.consentChanges('a')).toEqual([]);
      const journaled = [];
      for await (const { lead } of store.journal()) journaled.push(lead.leadId);
      expect(journaled).toEqual([]);
      expect(await store.stageChanges({ leadId: 'b' })).toHaveLength(1);
      expect(await store.suppression('acme', hash)).not.toBeNull();
    });
  });
});

describe('migrations', () => {
  it('are in order and applied once each', async () => {
    const versions = MIGRATIONS.map((m) => m.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);

    await open().close();
    await open().close();
    const rows = openRaw().prepare('SELECT version, name FROM schema_migrations ORDER BY version').all();
    expect(rows).toEqual(MIGRATIONS.map(({ version, name }) => ({ version, name })));
  });

  it('refuse a database migrated by a newer leadcycle', async () => {
    await open().close();
    const db = openRaw();
    db.prepare("INSERT INTO schema_migrations VALUES (?, 'from the future', '2030-01-01T00:00:00.000Z')").run(
      (MIGRATIONS.at(-1)?.version ?? 0) + 1,
    );
    const err = (() => {
      try {
        open();
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(AnalyticsStoreError);
    expect(err).toMatchObject({ code: 'schema_too_new' });
  });
});

describe('two connections to one file (the worker writes, the API reads)', () => {
  it('reads what the other committed, and is not blocked by its open write', async () => {
    const writer = open();
    const reader = open();
    await writer.recordStageChange(change({ leadId: 'a', seq: 1 }));
    expect(await reader.stageChanges()).toHaveLength(1);

    // A write transaction held open by another connection: WAL readers see the last commit, at once.
    const db = openRaw();
    db.exec('BEGIN IMMEDIATE');
    db.prepare(
      "INSERT INTO stage_changes (key, lead_id, seq, to_stage, at, cause) VALUES ('b/1', 'b', 1, 'lead', 0, 'x')",
    ).run();
    expect(await reader.stageChanges()).toHaveLength(1);
    db.exec('COMMIT');
    expect((await reader.stageChanges()).map((r) => r.key)).toEqual(['wf-a/1', 'b/1']);

    await writer.recordJournal({ leadId: 'a', createdAt: T0 }, [entry('a', 1)]);
    expect(await collect(reader.journal())).toHaveLength(1);
  });

  it('waits for another process to finish its write instead of failing with SQLITE_BUSY', async () => {
    const store = open();
    // A real second process, holding the write lock for a moment (better-sqlite3 is synchronous, so
    // one process cannot both hold a lock and wait on it).
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const db = new (require('better-sqlite3'))(process.argv[1]);
         db.exec('BEGIN IMMEDIATE');
         db.prepare("INSERT INTO leads (lead_id, created_at) VALUES ('other-process', 0)").run();
         process.stdout.write('locked\\n');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 700);
         db.exec('COMMIT');`,
        file,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = once(child, 'exit');
    await once(child.stdout, 'data');
    expect(await store.recordJournal({ leadId: 'mine', createdAt: T0 }, [])).toEqual({ recorded: 0 });
    expect(await exited).toEqual([0, null]);
    expect((await collect(store.journal())).map((l) => l.lead.leadId)).toEqual(['mine', 'other-process']);
  });
});

describe('the JSON Lines import', () => {
  const legacyLine = (key: string, leadId: string, to: string, at: number) =>
    `${JSON.stringify({
      key,
      workflowId: key.split('/')[0],
      leadId,
      at: new Date(at).toISOString(),
      change: { type: 'stage.changed', from: null, to, at, cause: 'visit', reason: null },
    })}\n`;

  it('imports the previous default once, seq from the key or else the line number', async () => {
    await writeFile(
      join(dir, LEGACY_STAGE_CHANGES_FILE),
      legacyLine('wf-a/3', 'a', 'visitor', T0) +
        '\n' + // a blank line counts as a line
        legacyLine('wf-b#7', 'b', 'lead', T0 + 1) +
        legacyLine('wf-a/4', 'a', 'lead', T0 + 2) +
        '{"key":"torn', // a crash mid-append, never acknowledged
    );
    const store = open(join(dir, ANALYTICS_DB_FILE));
    expect(store.importLegacyStageChanges(dir)).toEqual({ imported: 3 });
    expect(store.importLegacyStageChanges(dir)).toEqual({ imported: 0 });
    expect((await store.stageChanges()).map((r) => [r.key, r.seq, r.to, r.amount])).toEqual([
      ['wf-a/3', 3, 'visitor', null],
      ['wf-a/4', 4, 'lead', null],
      ['wf-b#7', 3, 'lead', null],
    ]);
  });

  it('refuses a broken line before the last one', async () => {
    await writeFile(
      join(dir, LEGACY_STAGE_CHANGES_FILE),
      `${legacyLine('wf-a/1', 'a', 'visitor', T0)}{"not":"a change"}\n${legacyLine('wf-a/2', 'a', 'lead', T0)}`,
    );
    const store = open(join(dir, ANALYTICS_DB_FILE));
    await expect(Promise.resolve().then(() => store.importLegacyStageChanges(dir))).rejects.toMatchObject({
      code: 'legacy_corrupt',
    });
    expect(() => openAnalyticsStore(dir)).toThrow(expect.objectContaining({ code: 'legacy_corrupt' }));
  });

  it('runs when the store opens, and again only when the file changed', async () => {
    const legacy = join(dir, LEGACY_STAGE_CHANGES_FILE);
    const first = openAnalyticsStore(dir); // no legacy file: nothing to do
    expect(await first.stageChanges()).toEqual([]);
    await first.close();

    await writeFile(legacy, legacyLine('wf-a/1', 'a', 'visitor', T0));
    const second = openAnalyticsStore(dir);
    expect(second.file).toBe(join(dir, ANALYTICS_DB_FILE));
    expect(await second.stageChanges()).toHaveLength(1);
    await second.close();

    await appendFile(legacy, legacyLine('wf-a/2', 'a', 'lead', T0 + 1));
    const third = openAnalyticsStore(dir);
    opened.push(third);
    expect((await third.stageChanges()).map((r) => r.key)).toEqual(['wf-a/1', 'wf-a/2']);
    const marks = openRaw(third.file).prepare('SELECT source, imported_at FROM legacy_imports').all();
    expect(marks).toEqual([{ source: LEGACY_STAGE_CHANGES_FILE, imported_at: expect.any(String) }]);
  });
});

describe('at scale', () => {
  it('writes and reads 100,000 stage changes and 100,000 journal entries', async () => {
    const store = open();
    const STAGES = ['visitor', 'lead', 'mql', 'sql', 'opportunity'] as const;
    for (let i = 0; i < 100_000; i++) {
      const lead = `lead-${String(Math.floor(i / 5)).padStart(6, '0')}`;
      const seq = (i % 5) + 1;
      const to = STAGES[i % 5] ?? 'visitor';
      await store.recordStageChange(change({ leadId: lead, seq, to, from: null, at: T0 + i }));
    }
    const rows = await store.stageChanges();
    expect(rows).toHaveLength(100_000);
    expect(rows[99_999]).toMatchObject({
      leadId: 'lead-019999',
      seq: 5,
      to: 'opportunity',
      at: T0 + 99_999,
    });
    expect(await store.stageChanges({ since: T0 + 50_000 })).toHaveLength(50_000);

    for (let l = 0; l < 10_000; l++) {
      const lead = `lead-${String(l).padStart(6, '0')}`;
      const entries = Array.from({ length: 10 }, (_, i) => entry(lead, i + 1));
      await store.recordJournal({ leadId: lead, createdAt: T0 }, entries);
    }
    let leads = 0;
    let events = 0;
    for await (const group of store.journal()) {
      leads += 1;
      events += group.events.length;
    }
    expect({ leads, events }).toEqual({ leads: 10_000, events: 100_000 });
  });
});

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
