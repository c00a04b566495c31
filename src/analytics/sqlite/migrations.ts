/** The analytics database's schema, as numbered migrations applied once each, in order. */
import type Database from 'better-sqlite3';
import { AnalyticsStoreError } from './errors.js';

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
  {
    version: 4,
    name: 'suppression list and consent changes',
    sql: `
      CREATE TABLE suppressions (
        tenant TEXT NOT NULL,
        address_hash TEXT NOT NULL,
        reason TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (tenant, address_hash)
      ) WITHOUT ROWID;
      CREATE TABLE consent_changes (
        key TEXT PRIMARY KEY,
        lead_id TEXT NOT NULL,
        consent TEXT NOT NULL,
        do_not_contact INTEGER NOT NULL,
        source TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE INDEX consent_changes_lead ON consent_changes (lead_id, at);
    `,
  },
  {
    version: 5,
    name: 'tenant of stage changes and journaled leads',
    // Lead ids are keyed hashes: nothing stored says a lead's tenant. The activities write it from
    // now on, and each write fills the lead's older rows (see SqliteAnalyticsStore): a lead that
    // records anything again is whole; one silent since stays of no tenant (in the all-tenant
    // figures only).
    sql: `
      ALTER TABLE stage_changes ADD COLUMN tenant TEXT;
      ALTER TABLE leads ADD COLUMN tenant TEXT;
      CREATE INDEX stage_changes_tenant ON stage_changes (tenant, lead_id, seq);
      CREATE INDEX leads_tenant ON leads (tenant, lead_id);
    `,
  },
  {
    version: 6,
    name: 'first and last touch on stage changes',
    // JSON of the touches (marketing labels) as of each change: the attribution report groups by them.
    sql: `
      ALTER TABLE stage_changes ADD COLUMN first_touch TEXT;
      ALTER TABLE stage_changes ADD COLUMN last_touch TEXT;
    `,
  },
  {
    version: 7,
    name: 'email events',
    // What became of each marketing email, by the delivery's key (a deferral: per attempt). The
    // lead by its workflow id and the content item only: no address, no name.
    sql: `
      CREATE TABLE email_outcomes (
        key TEXT PRIMARY KEY,
        lead_id TEXT NOT NULL,
        tenant TEXT,
        item_id TEXT NOT NULL,
        title TEXT,
        outcome TEXT NOT NULL,
        skip_reason TEXT,
        at INTEGER NOT NULL
      );
      CREATE INDEX email_outcomes_tenant_at ON email_outcomes (tenant, at);
      CREATE INDEX email_outcomes_lead ON email_outcomes (lead_id);
    `,
  },
  {
    version: 8,
    name: 'sales owner on stage changes',
    // A sales rep's identifier (not the lead's) on changes into and out of sales: the SLA per owner.
    sql: 'ALTER TABLE stage_changes ADD COLUMN owner TEXT;',
  },
];

const SCHEMA_MIGRATIONS_DDL = `
  CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at TEXT NOT NULL
  )
`;

/** Brings the database up to the newest migration this code knows; refuses a newer schema. */
export function migrate(db: Database.Database, file: string): void {
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
      'schema_too_new',
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
