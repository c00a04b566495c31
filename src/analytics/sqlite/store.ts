/**
 * The embedded analytics store: SQLite in the data directory, through better-sqlite3.
 *
 * - The worker writes while the API and the CLI read from other processes: WAL lets readers and the
 *   one writer proceed together, and a busy timeout makes a second writer wait instead of failing.
 * - `synchronous = NORMAL` in WAL keeps every commit atomic; a power cut may lose the last commits,
 *   which the activities redo, since every write is idempotent by its key.
 * - better-sqlite3 is synchronous: the async methods only match the `AnalyticsStore` interface.
 */

import { dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { LeadEvent } from '../../machines/index.js';
import { ensurePrivateDirSync, ensurePrivateFileSync, tightenFileSync } from '../../private-fs.js';
import { type JournalPageRow, leadsOfJournalPage } from '../journal-page.js';
import {
  type AnalyticsStore,
  type ConsentChangeRow,
  ConsentChangeRowSchema,
  type EmailOutcomeQuery,
  type EmailOutcomeRow,
  type JournalEntry,
  type JournaledLead,
  type JournalQuery,
  type StageChangeQuery,
  type StageChangeRow,
  type Suppression,
  SuppressionSchema,
} from '../records.js';
import {
  EMAIL_OUTCOME_COLUMNS,
  type EmailOutcomeColumns,
  toEmailOutcomeColumns,
  toEmailOutcomeRow,
} from './email-rows.js';
import { AnalyticsStoreError } from './errors.js';
import { importLegacyFile } from './legacy-import.js';
import { migrate } from './migrations.js';
import { STAGE_CHANGE_COLUMNS, type StageChangeColumns, toColumns, toStageChangeRow } from './rows.js';

export const ANALYTICS_DB_FILE = 'leadcycle.db';

/**
 * How long a write waits for another process's write to finish before failing with SQLITE_BUSY, by
 * default: the CLI and the API can wait. The worker opens with a much shorter one (resilient.ts).
 */
const BUSY_TIMEOUT_MS = 5_000;

export interface OpenStoreOptions {
  /** SQLite's busy timeout: the longest a statement blocks the process on another's lock. */
  busyTimeoutMs?: number;
}
/** Leads per query when streaming the journal: bounds memory without a cursor held across awaits. */
const JOURNAL_PAGE_LEADS = 1_000;

/** The tables that hold a lead's rows, by `lead_id`: what forgetting a lead deletes. */
const LEAD_TABLES = ['stage_changes', 'journal', 'leads', 'consent_changes', 'email_outcomes'] as const;

interface ConsentChangeColumns {
  key: string;
  lead_id: string;
  consent: string;
  do_not_contact: number;
  source: string;
  at: number;
}

export class SqliteAnalyticsStore implements AnalyticsStore {
  readonly #db: Database.Database;
  readonly #insertChange: Database.Statement<StageChangeColumns>;
  readonly #insertChanges: Database.Transaction<(rows: StageChangeRow[]) => number>;
  readonly #recordJournal: Database.Transaction<(lead: JournaledLead, entries: JournalEntry[]) => number>;
  readonly #journalPages: Map<string, Database.Statement<Record<string, string | number>, JournalPageRow>> =
    new Map();
  /** Fills in the tenant of a lead's rows written before migration 5. */
  readonly #fillTenant: (leadId: string, tenant: string) => void;
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
       VALUES (@key, @lead_id, @seq, @from_stage, @to_stage, @at, @cause, @reason, @amount, @tenant,
               @first_touch, @last_touch, @owner)`,
    );
    this.#insertChanges = db.transaction((rows: StageChangeRow[]) => {
      let recorded = 0;
      for (const row of rows) recorded += this.#insertChange.run(toColumns(row)).changes;
      return recorded;
    });
    const fillChanges = db.prepare<[string, string]>(
      'UPDATE stage_changes SET tenant = ? WHERE lead_id = ? AND tenant IS NULL',
    );
    const fillLead = db.prepare<[string, string]>(
      'UPDATE leads SET tenant = ? WHERE lead_id = ? AND tenant IS NULL',
    );
    this.#fillTenant = (leadId, tenant) => {
      fillChanges.run(tenant, leadId);
      fillLead.run(tenant, leadId);
    };

    const insertLead = db.prepare<[string, number, string | null]>(
      'INSERT OR IGNORE INTO leads (lead_id, created_at, tenant) VALUES (?, ?, ?)',
    );
    const insertEntry = db.prepare<[string, number, number, string, string]>(
      'INSERT OR IGNORE INTO journal (lead_id, seq, at, type, event) VALUES (?, ?, ?, ?, ?)',
    );
    this.#recordJournal = db.transaction((lead: JournaledLead, entries: JournalEntry[]) => {
      insertLead.run(lead.leadId, lead.createdAt, lead.tenant ?? null);
      if (lead.tenant) this.#fillTenant(lead.leadId, lead.tenant);
      let recorded = 0;
      for (const { leadId, seq, event } of entries) {
        if (leadId !== lead.leadId) {
          throw new AnalyticsStoreError(
            'lead_mismatch',
            `journal entry ${leadId}#${seq} recorded with lead ${lead.leadId}`,
          );
        }
        recorded += insertEntry.run(leadId, seq, event.at, event.type, JSON.stringify(event)).changes;
      }
      return recorded;
    });
  }

  /**
   * A page of leads, each with its events: one statement, so each lead is read consistently, and
   * no cursor stays open while the consumer awaits (better-sqlite3 forbids other statements meanwhile).
   */
  #journalPage(after: boolean, tenant: boolean) {
    const key = `${after}/${tenant}`;
    let statement = this.#journalPages.get(key);
    if (!statement) {
      const where = [after ? 'lead_id > @after' : null, tenant ? 'tenant = @tenant' : null].filter(Boolean);
      statement = this.#db.prepare(`
        SELECT l.lead_id, l.created_at, l.tenant, j.event
        FROM (SELECT lead_id, created_at, tenant FROM leads ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
              ORDER BY lead_id LIMIT @limit) AS l
        LEFT JOIN journal AS j ON j.lead_id = l.lead_id
        ORDER BY l.lead_id, j.seq`);
      this.#journalPages.set(key, statement);
    }
    return statement;
  }

  /** Opens (creating it and its folder when missing) and migrates the database file. */
  static open(file: string, options: OpenStoreOptions = {}): SqliteAnalyticsStore {
    const path = resolve(file);
    // The rows name leads and hash addresses: the folder and the files are the owner's only. SQLite
    // gives its -wal and -shm files the database file's mode, so the file is made 0600 first.
    ensurePrivateDirSync(dirname(path));
    ensurePrivateFileSync(path);
    for (const companion of [`${path}-wal`, `${path}-shm`, `${path}-journal`]) tightenFileSync(companion);
    // `timeout` is SQLite's busy timeout, set before anything below can meet another process's lock.
    const db = new Database(path, { timeout: options.busyTimeoutMs ?? BUSY_TIMEOUT_MS });
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
    const recorded = this.#insertChange.run(toColumns(change)).changes === 1;
    if (change.tenant) this.#fillTenant(change.leadId, change.tenant);
    return { recorded };
  }

  /**
   * Many stage changes in one transaction, idempotent by key as `recordStageChange`: for imports
   * (from another store) and test populations.
   */
  async recordStageChanges(rows: StageChangeRow[]): Promise<{ recorded: number }> {
    this.#live();
    const record = this.#db.transaction(() => {
      const recorded = this.#insertChanges(rows);
      for (const row of rows) if (row.tenant) this.#fillTenant(row.leadId, row.tenant);
      return recorded;
    });
    return { recorded: record.immediate() };
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
    if (query.tenant !== undefined) {
      where.push('tenant = @tenant');
      params.tenant = query.tenant;
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

  async *journal(query: JournalQuery = {}): AsyncGenerator<{ lead: JournaledLead; events: LeadEvent[] }> {
    let after: string | null = null;
    for (;;) {
      this.#live();
      const params: Record<string, string | number> = { limit: JOURNAL_PAGE_LEADS };
      if (after !== null) params.after = after;
      if (query.tenant !== undefined) params.tenant = query.tenant;
      const rows: JournalPageRow[] = this.#journalPage(after !== null, query.tenant !== undefined).all(
        params,
      );
      const leads = leadsOfJournalPage(rows);
      for (const entry of leads) yield entry;
      const last = leads.at(-1);
      if (last === undefined || leads.length < JOURNAL_PAGE_LEADS) return;
      after = last.lead.leadId;
    }
  }

  async suppress(entry: Suppression): Promise<{ recorded: boolean }> {
    this.#live();
    const { changes } = this.#db
      .prepare(
        `INSERT OR IGNORE INTO suppressions (tenant, address_hash, reason, at)
         VALUES (@tenant, @addressHash, @reason, @at)`,
      )
      .run(SuppressionSchema.parse(entry));
    return { recorded: changes === 1 };
  }

  async suppression(tenant: string, addressHash: string): Promise<Suppression | null> {
    this.#live();
    const row = this.#db
      .prepare<[string, string], { tenant: string; address_hash: string; reason: string; at: number }>(
        'SELECT tenant, address_hash, reason, at FROM suppressions WHERE tenant = ? AND address_hash = ?',
      )
      .get(tenant, addressHash);
    if (!row) return null;
    return SuppressionSchema.parse({
      tenant: row.tenant,
      addressHash: row.address_hash,
      reason: row.reason,
      at: row.at,
    });
  }

  async recordConsentChange(change: ConsentChangeRow): Promise<{ recorded: boolean }> {
    this.#live();
    const row = ConsentChangeRowSchema.parse(change);
    const { changes } = this.#db
      .prepare(
        `INSERT OR IGNORE INTO consent_changes (key, lead_id, consent, do_not_contact, source, at)
         VALUES (@key, @leadId, @consent, @doNotContact, @source, @at)`,
      )
      .run({ ...row, doNotContact: row.doNotContact ? 1 : 0 });
    return { recorded: changes === 1 };
  }

  async consentChanges(leadId: string): Promise<ConsentChangeRow[]> {
    this.#live();
    return this.#db
      .prepare<[string], ConsentChangeColumns>(
        'SELECT * FROM consent_changes WHERE lead_id = ? ORDER BY at, key',
      )
      .all(leadId)
      .map((r) =>
        ConsentChangeRowSchema.parse({
          key: r.key,
          leadId: r.lead_id,
          consent: r.consent,
          doNotContact: r.do_not_contact === 1,
          source: r.source,
          at: r.at,
        }),
      );
  }

  async recordEmailOutcome(row: EmailOutcomeRow): Promise<{ recorded: boolean }> {
    this.#live();
    const { changes } = this.#db
      .prepare(
        `INSERT OR IGNORE INTO email_outcomes (${EMAIL_OUTCOME_COLUMNS})
         VALUES (@key, @lead_id, @tenant, @item_id, @title, @outcome, @skip_reason, @at)`,
      )
      .run(toEmailOutcomeColumns(row));
    return { recorded: changes === 1 };
  }

  async emailOutcomes(query: EmailOutcomeQuery = {}): Promise<EmailOutcomeRow[]> {
    this.#live();
    const where = [
      query.leadId !== undefined ? 'lead_id = @leadId' : null,
      query.tenant !== undefined ? 'tenant = @tenant' : null,
      query.until !== undefined ? 'at < @until' : null,
    ].filter(Boolean);
    const params: Record<string, string | number> = {};
    if (query.leadId !== undefined) params.leadId = query.leadId;
    if (query.tenant !== undefined) params.tenant = query.tenant;
    if (query.until !== undefined) params.until = query.until;
    return this.#db
      .prepare<Record<string, string | number>, EmailOutcomeColumns>(
        `SELECT ${EMAIL_OUTCOME_COLUMNS} FROM email_outcomes
         ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY at, key`,
      )
      .all(params)
      .map(toEmailOutcomeRow);
  }

  async forgetLead(leadId: string): Promise<{ removed: number }> {
    this.#live();
    const forget = this.#db.transaction(() =>
      LEAD_TABLES.reduce(
        (removed, table) =>
          removed + this.#db.prepare(`DELETE FROM ${table} WHERE lead_id = ?`).run(leadId).changes,
        0,
      ),
    );
    return { removed: forget.immediate() };
  }

  /**
   * Imports the changes the JSON Lines store wrote to `<dataDir>/stage-changes.jsonl`, idempotent by
   * key. With `ifChanged`, skips the scan when the file is as large and as old as at the last import.
   * A torn last line (a crash mid-append) is skipped, as the JSON Lines store did.
   */
  importLegacyStageChanges(dataDir: string, options: { ifChanged?: boolean } = {}): { imported: number } {
    this.#live();
    return importLegacyFile(this.#db, (rows) => this.#insertChanges.immediate(rows), dataDir, options);
  }

  /** Reads the schema table: throws when the file is not a database or its first pages are damaged. */
  probe(): void {
    this.#live();
    this.#db.prepare('SELECT count(*) FROM schema_migrations').get();
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }

  #live(): void {
    if (!this.#db.open) throw new AnalyticsStoreError('closed', `${this.file} is closed`);
  }
}

/** Opens `<dataDir>/leadcycle.db`, importing the legacy JSON Lines stage changes when there are new ones. */
export function openAnalyticsStore(dataDir: string, options: OpenStoreOptions = {}): SqliteAnalyticsStore {
  const store = SqliteAnalyticsStore.open(join(dataDir, ANALYTICS_DB_FILE), options);
  try {
    store.importLegacyStageChanges(dataDir, { ifChanged: true });
  } catch (err) {
    // close() finishes synchronously: better-sqlite3 has nothing to await.
    void store.close();
    throw err;
  }
  return store;
}
