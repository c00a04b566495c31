/**
 * The embedded analytics store: SQLite in the data directory, through better-sqlite3.
 *
 * - The worker writes while the API and the CLI read from other processes: WAL lets readers and the
 *   one writer proceed together, and a busy timeout makes a second writer wait instead of failing.
 * - `synchronous = NORMAL` in WAL keeps every commit atomic; a power cut may lose the last commits,
 *   which the activities redo, since every write is idempotent by its key.
 * - better-sqlite3 is synchronous: the async methods only match the `AnalyticsStore` interface.
 */
import { closeSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { z } from 'zod';
import { type LeadEvent, STAGES, type Stage } from '../machines/index.js';
import type {
  AnalyticsStore,
  JournalEntry,
  JournaledLead,
  StageChangeQuery,
  StageChangeRow,
} from './records.js';

export const ANALYTICS_DB_FILE = 'leadcycle.db';
/** Where the JSON Lines stage store, the previous default, wrote its changes. */
export const LEGACY_STAGE_CHANGES_FILE = 'stage-changes.jsonl';

/** How long a write waits for another process's write to finish before failing with SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5_000;
/** Leads per query when streaming the journal: bounds memory without a cursor held across awaits. */
const JOURNAL_PAGE_LEADS = 1_000;
/** Legacy rows per import transaction. */
const IMPORT_BATCH = 1_000;

export type AnalyticsStoreErrorCode =
  /** The file was migrated by a newer leadcycle: its schema may not mean what this code assumes. */
  | 'SCHEMA_TOO_NEW'
  /** A stored stage this code does not know: written by other code, or a stage was removed. */
  | 'UNKNOWN_STAGE'
  /** A journal entry for another lead than the one it is recorded with: a caller's bug. */
  | 'LEAD_MISMATCH'
  /** A broken line before the last one of the legacy JSON Lines file. */
  | 'LEGACY_CORRUPT'
  | 'CLOSED';

export class AnalyticsStoreError extends Error {
  override readonly name = 'AnalyticsStoreError';
  constructor(
    readonly code: AnalyticsStoreErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Applied in order, once each; never edit an applied one, append a new one. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'stage changes, leads and their journal',
    sql: `
      CREATE TABLE stage_changes (
        key TEXT PRIMARY KEY,
        lead_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        from_stage TEXT,
        to_stage TEXT NOT NULL,
        at INTEGER NOT NULL,
        cause TEXT NOT NULL,
        reason TEXT
      );
      CREATE INDEX stage_changes_lead_seq ON stage_changes (lead_id, seq);
      CREATE INDEX stage_changes_at ON stage_changes (at);
      -- WITHOUT ROWID: rows are stored in key order, so the journal is read in order without a lookup.
      CREATE TABLE leads (
        lead_id TEXT PRIMARY KEY,
        created_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE journal (
        lead_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        at INTEGER NOT NULL,
        type TEXT NOT NULL,
        event TEXT NOT NULL, -- JSON, redacted
        PRIMARY KEY (lead_id, seq)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'deal amount on stage changes',
    sql: 'ALTER TABLE stage_changes ADD COLUMN amount REAL;',
  },
  {
    version: 3,
    name: 'legacy imports',
    // What was imported, so opening the store does not rescan an unchanged legacy file every time.
    sql: `
      CREATE TABLE legacy_imports (
        source TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        mtime_ms INTEGER NOT NULL,
        imported_at TEXT NOT NULL
      );
    `,
  },
];

const SCHEMA_MIGRATIONS_DDL = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )
`;

function migrate(db: Database.Database, file: string): void {
  db.exec(SCHEMA_MIGRATIONS_DDL);
  const known = MIGRATIONS.at(-1)?.version ?? 0;
  const applied = new Set(
    db
      .prepare<[], { version: number }>('SELECT version FROM schema_migrations')
      .all()
      .map((r) => r.version),
  );
  const newest = Math.max(0, ...applied);
  if (newest > known) {
    throw new AnalyticsStoreError(
      'SCHEMA_TOO_NEW',
      `${file} has schema version ${newest}; this leadcycle knows up to ${known}: upgrade leadcycle`,
    );
  }
  const isApplied = db.prepare<[number]>('SELECT 1 FROM schema_migrations WHERE version = ?');
  const record = db.prepare<[number, string, string]>(
    'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)',
  );
  const apply = db.transaction((migration: Migration) => {
    // Checked again under the write lock: another process may have applied it since we looked.
    if (isApplied.get(migration.version)) return;
    db.exec(migration.sql);
    record.run(migration.version, migration.name, new Date().toISOString());
  });
  for (const migration of MIGRATIONS) {
    // IMMEDIATE takes the write lock before the check above, so concurrent openers apply it once.
    if (!applied.has(migration.version)) apply.immediate(migration);
  }
}

interface StageChangeColumns {
  key: string;
  lead_id: string;
  seq: number;
  from_stage: string | null;
  to_stage: string;
  at: number;
  cause: string;
  reason: string | null;
  amount: number | null;
}

interface JournalPageRow {
  lead_id: string;
  created_at: number;
  event: string | null;
}

const KNOWN_STAGES: ReadonlySet<string> = new Set(STAGES);

function stageOf(value: string, key: string): Stage {
  if (!KNOWN_STAGES.has(value)) {
    throw new AnalyticsStoreError(
      'UNKNOWN_STAGE',
      `stage change ${key}: unknown stage ${JSON.stringify(value)}`,
    );
  }
  return value as Stage;
}

/** Columns to row: our own schema wrote them, so only the stage names (an enum that evolves) are checked. */
function toStageChangeRow(c: StageChangeColumns): StageChangeRow {
  return {
    key: c.key,
    leadId: c.lead_id,
    seq: c.seq,
    from: c.from_stage === null ? null : stageOf(c.from_stage, c.key),
    to: stageOf(c.to_stage, c.key),
    at: c.at,
    cause: c.cause,
    reason: c.reason,
    amount: c.amount,
  };
}

function toColumns(row: StageChangeRow): StageChangeColumns {
  // `?? null`: better-sqlite3 refuses undefined, which an untyped caller could still pass.
  return {
    key: row.key,
    lead_id: row.leadId,
    seq: row.seq,
    from_stage: row.from ?? null,
    to_stage: row.to,
    at: row.at,
    cause: row.cause,
    reason: row.reason ?? null,
    amount: row.amount ?? null,
  };
}

const STAGE_CHANGE_COLUMNS = 'key, lead_id, seq, from_stage, to_stage, at, cause, reason, amount';

export class SqliteAnalyticsStore implements AnalyticsStore {
  readonly #db: Database.Database;
  readonly #insertChange: Database.Statement<StageChangeColumns>;
  readonly #insertChanges: Database.Transaction<(rows: StageChangeRow[]) => number>;
  readonly #recordJournal: Database.Transaction<(lead: JournaledLead, entries: JournalEntry[]) => number>;
  readonly #firstJournalPage: Database.Statement<{ limit: number }, JournalPageRow>;
  readonly #nextJournalPage: Database.Statement<{ after: string; limit: number }, JournalPageRow>;
  /** One statement per combination of filters, so each can use its index. */
  readonly #stageQueries = new Map<
    string,
    Database.Statement<Record<string, string | number>, StageChangeColumns>
  >();

  private constructor(
    readonly file: string,
    db: Database.Database,
  ) {
    this.#db = db;
    this.#insertChange = db.prepare(
      `INSERT OR IGNORE INTO stage_changes (${STAGE_CHANGE_COLUMNS})
       VALUES (@key, @lead_id, @seq, @from_stage, @to_stage, @at, @cause, @reason, @amount)`,
    );
    this.#insertChanges = db.transaction((rows: StageChangeRow[]) => {
      let recorded = 0;
      for (const row of rows) recorded += this.#insertChange.run(toColumns(row)).changes;
      return recorded;
    });

    const insertLead = db.prepare<[string, number]>(
      'INSERT OR IGNORE INTO leads (lead_id, created_at) VALUES (?, ?)',
    );
    const insertEntry = db.prepare<[string, number, number, string, string]>(
      'INSERT OR IGNORE INTO journal (lead_id, seq, at, type, event) VALUES (?, ?, ?, ?, ?)',
    );
    this.#recordJournal = db.transaction((lead: JournaledLead, entries: JournalEntry[]) => {
      insertLead.run(lead.leadId, lead.createdAt);
      let recorded = 0;
      for (const { leadId, seq, event } of entries) {
        if (leadId !== lead.leadId) {
          throw new AnalyticsStoreError(
            'LEAD_MISMATCH',
            `journal entry ${leadId}#${seq} recorded with lead ${lead.leadId}`,
          );
        }
        recorded += insertEntry.run(leadId, seq, event.at, event.type, JSON.stringify(event)).changes;
      }
      return recorded;
    });

    // A page of leads, each with its events: one statement, so each lead is read consistently, and
    // no cursor stays open while the consumer awaits (better-sqlite3 forbids other statements meanwhile).
    const page = (where: string) => `
      SELECT l.lead_id, l.created_at, j.event
      FROM (SELECT lead_id, created_at FROM leads ${where} ORDER BY lead_id LIMIT @limit) AS l
      LEFT JOIN journal AS j ON j.lead_id = l.lead_id
      ORDER BY l.lead_id, j.seq`;
    this.#firstJournalPage = db.prepare(page(''));
    this.#nextJournalPage = db.prepare(page('WHERE lead_id > @after'));
  }

  /** Opens (creating it and its folder when missing) and migrates the database file. */
  static open(file: string): SqliteAnalyticsStore {
    const path = resolve(file);
    mkdirSync(dirname(path), { recursive: true });
    // `timeout` is SQLite's busy timeout, set before anything below can meet another process's lock.
    const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrate(db, path);
      return new SqliteAnalyticsStore(path, db);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  async recordStageChange(change: StageChangeRow): Promise<{ recorded: boolean }> {
    this.#live();
    return { recorded: this.#insertChange.run(toColumns(change)).changes === 1 };
  }

  async recordJournal(lead: JournaledLead, entries: JournalEntry[]): Promise<{ recorded: number }> {
    this.#live();
    return { recorded: this.#recordJournal.immediate(lead, entries) };
  }

  async stageChanges(query: StageChangeQuery = {}): Promise<StageChangeRow[]> {
    this.#live();
    const params: Record<string, string | number> = {};
    const where: string[] = [];
    if (query.leadId !== undefined) {
      where.push('lead_id = @leadId');
      params.leadId = query.leadId;
    }
    if (query.since !== undefined) {
      where.push('at >= @since');
      params.since = query.since;
    }
    if (query.until !== undefined) {
      where.push('at < @until');
      params.until = query.until;
    }
    const filter = where.join(' AND ');
    let statement = this.#stageQueries.get(filter);
    if (!statement) {
      statement = this.#db.prepare(
        `SELECT ${STAGE_CHANGE_COLUMNS} FROM stage_changes
         ${filter ? `WHERE ${filter}` : ''} ORDER BY lead_id, seq`,
      );
      this.#stageQueries.set(filter, statement);
    }
    return statement.all(params).map(toStageChangeRow);
  }

  async *journal(): AsyncGenerator<{ lead: JournaledLead; events: LeadEvent[] }> {
    let after: string | null = null;
    for (;;) {
      this.#live();
      const rows: JournalPageRow[] =
        after === null
          ? this.#firstJournalPage.all({ limit: JOURNAL_PAGE_LEADS })
          : this.#nextJournalPage.all({ after, limit: JOURNAL_PAGE_LEADS });
      const leads: { lead: JournaledLead; events: LeadEvent[] }[] = [];
      for (const row of rows) {
        let current = leads.at(-1);
        if (current?.lead.leadId !== row.lead_id) {
          current = { lead: { leadId: row.lead_id, createdAt: row.created_at }, events: [] };
          leads.push(current);
        }
        // Our own redacted events, written as validated: parsing them again would dominate a backtest.
        if (row.event !== null) current.events.push(JSON.parse(row.event) as LeadEvent);
      }
      for (const entry of leads) yield entry;
      const last = leads.at(-1);
      if (last === undefined || leads.length < JOURNAL_PAGE_LEADS) return;
      after = last.lead.leadId;
    }
  }

  /**
   * Imports the changes the JSON Lines store wrote to `<dataDir>/stage-changes.jsonl`, idempotent by
   * key. With `ifChanged`, skips the scan when the file is as large and as old as at the last import.
   * A torn last line (a crash mid-append) is skipped, as the JSON Lines store did.
   */
  importLegacyStageChanges(dataDir: string, options: { ifChanged?: boolean } = {}): { imported: number } {
    this.#live();
    const file = join(dataDir, LEGACY_STAGE_CHANGES_FILE);
    let stat: { size: number; mtimeMs: number };
    try {
      stat = statSync(file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { imported: 0 };
      throw err;
    }
    const mark = { source: LEGACY_STAGE_CHANGES_FILE, size: stat.size, mtimeMs: Math.trunc(stat.mtimeMs) };
    if (options.ifChanged) {
      const seen = this.#db
        .prepare<typeof mark>(
          'SELECT 1 FROM legacy_imports WHERE source = @source AND size = @size AND mtime_ms = @mtimeMs',
        )
        .get(mark);
      if (seen) return { imported: 0 };
    }

    let imported = 0;
    let batch: StageChangeRow[] = [];
    const flush = () => {
      if (batch.length > 0) imported += this.#insertChanges.immediate(batch);
      batch = [];
    };
    forEachLineSync(file, (line, lineNo, terminated) => {
      if (line.trim() === '') return;
      let row: StageChangeRow;
      try {
        row = legacyRow(JSON.parse(line), lineNo);
      } catch (err) {
        if (!terminated) return;
        throw new AnalyticsStoreError(
          'LEGACY_CORRUPT',
          `${file}:${lineNo}: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
      batch.push(row);
      if (batch.length >= IMPORT_BATCH) flush();
    });
    flush();
    this.#db
      .prepare<typeof mark & { at: string }>(
        `INSERT INTO legacy_imports (source, size, mtime_ms, imported_at) VALUES (@source, @size, @mtimeMs, @at)
         ON CONFLICT (source) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
           imported_at = excluded.imported_at`,
      )
      .run({ ...mark, at: new Date().toISOString() });
    return { imported };
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #live(): void {
    if (!this.#db.open) throw new AnalyticsStoreError('CLOSED', `${this.file} is closed`);
  }
}

const StageSchema = z.enum(STAGES);

/** A line of the JSON Lines stage store: only the fields the analytics keep. */
const LegacyStageChangeSchema = z.object({
  key: z.string().min(1),
  leadId: z.string().min(1),
  change: z.object({
    from: StageSchema.nullable(),
    to: StageSchema,
    at: z.number().nonnegative(),
    cause: z.string(),
    reason: z.string().nullable(),
    amount: z.number().nonnegative().optional(),
  }),
});

function legacyRow(json: unknown, lineNo: number): StageChangeRow {
  const parsed = LegacyStageChangeSchema.safeParse(json);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join('; '));
  const { key, leadId, change } = parsed.data;
  // Keys are `<workflow id>/<sequence>`; a key of another shape still needs a stable order.
  const seq = Number(key.slice(key.lastIndexOf('/') + 1));
  return {
    key,
    leadId,
    seq: Number.isSafeInteger(seq) && seq >= 1 ? seq : lineNo,
    from: change.from,
    to: change.to,
    at: Math.round(change.at),
    cause: change.cause,
    reason: change.reason,
    amount: change.amount ?? null,
  };
}

const NEWLINE = 0x0a;

/**
 * Visits each line of a file, synchronously (opening the store is synchronous) and without reading
 * the whole file at once. `terminated` is false for a last line without its newline.
 */
function forEachLineSync(
  file: string,
  visit: (line: string, lineNo: number, terminated: boolean) => void,
): void {
  const fd = openSync(file, 'r');
  try {
    const chunk = Buffer.allocUnsafe(1 << 20);
    let pending: Buffer[] = [];
    let lineNo = 0;
    for (;;) {
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      const data = chunk.subarray(0, read);
      let start = 0;
      for (let i = data.indexOf(NEWLINE); i !== -1; i = data.indexOf(NEWLINE, start)) {
        const bytes = Buffer.concat([...pending, data.subarray(start, i)]);
        pending = [];
        lineNo += 1;
        visit(bytes.toString('utf8'), lineNo, true);
        start = i + 1;
      }
      // Copied: `chunk` is reused by the next read. Decoded only once whole, so no UTF-8 is split.
      if (start < read) pending.push(Buffer.from(data.subarray(start)));
    }
    if (pending.length > 0) visit(Buffer.concat(pending).toString('utf8'), lineNo + 1, false);
  } finally {
    closeSync(fd);
  }
}

/**
 * Imports `<dataDir>/stage-changes.jsonl`, written by the previous default store, idempotent by key:
 * a second run imports 0.
 */
export async function importJsonlStageChanges(
  store: SqliteAnalyticsStore,
  dataDir: string,
): Promise<{ imported: number }> {
  return store.importLegacyStageChanges(dataDir);
}

/** Opens `<dataDir>/leadcycle.db`, importing the legacy JSON Lines stage changes when there are new ones. */
export function openAnalyticsStore(dataDir: string): SqliteAnalyticsStore {
  const store = SqliteAnalyticsStore.open(join(dataDir, ANALYTICS_DB_FILE));
  try {
    store.importLegacyStageChanges(dataDir, { ifChanged: true });
  } catch (err) {
    // close() finishes synchronously: better-sqlite3 has nothing to await.
    void store.close();
    throw err;
  }
  return store;
}
