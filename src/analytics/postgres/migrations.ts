/**
 * The PostgreSQL analytics store's schema, as numbered migrations in `schema_migrations`, applied
 * under an advisory lock: two processes starting at once apply each migration once.
 */
import type pg from 'pg';
import { AnalyticsStoreError } from '../sqlite/errors.js';
import type { Migration } from '../sqlite/migrations.js';

/** The advisory lock migrations hold (any constant no other code of this database uses). */
const MIGRATION_LOCK = 0x1eadc7c1e;

/**
 * Applied in order, once each; never edit an applied one, append a new one. Version 1 is the SQLite
 * store's migrations 1 to 5 at once (no legacy import: that file predates this store). Lead ids
 * sort bytewise (`COLLATE "C"`), as SQLite's do: reports list leads in the same order either way.
 */
export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'stage changes, journal, suppression list, consent changes, tenants',
    sql: `
      CREATE TABLE stage_changes (
        key text COLLATE "C" PRIMARY KEY,
        lead_id text COLLATE "C" NOT NULL,
        seq integer NOT NULL,
        from_stage text,
        to_stage text NOT NULL,
        at bigint NOT NULL,
        cause text NOT NULL,
        reason text,
        amount double precision,
        -- Null for rows whose tenant is not known: never any tenant's (see the SQLite store's migration 5).
        tenant text
      );
      CREATE INDEX stage_changes_lead_seq ON stage_changes (lead_id, seq);
      CREATE INDEX stage_changes_at ON stage_changes (at);
      CREATE INDEX stage_changes_tenant ON stage_changes (tenant, lead_id, seq);
      CREATE TABLE leads (
        lead_id text COLLATE "C" PRIMARY KEY,
        created_at bigint NOT NULL,
        tenant text
      );
      CREATE INDEX leads_tenant ON leads (tenant, lead_id);
      CREATE TABLE journal (
        lead_id text COLLATE "C" NOT NULL,
        seq integer NOT NULL,
        at bigint NOT NULL,
        type text NOT NULL,
        event text NOT NULL, -- JSON, redacted, as written (read back without parsing into jsonb)
        PRIMARY KEY (lead_id, seq)
      );
      CREATE TABLE suppressions (
        tenant text NOT NULL,
        address_hash text NOT NULL,
        reason text NOT NULL,
        at bigint NOT NULL,
        PRIMARY KEY (tenant, address_hash)
      );
      CREATE TABLE consent_changes (
        key text COLLATE "C" PRIMARY KEY,
        lead_id text COLLATE "C" NOT NULL,
        consent text NOT NULL,
        do_not_contact boolean NOT NULL,
        source text NOT NULL,
        at bigint NOT NULL
      );
      CREATE INDEX consent_changes_lead ON consent_changes (lead_id, at);
    `,
  },
  {
    version: 2,
    name: 'first and last touch on stage changes',
    // JSON text as written, as the SQLite store's migration 6 keeps it: read back the same either way.
    sql: `
      ALTER TABLE stage_changes ADD COLUMN first_touch text;
      ALTER TABLE stage_changes ADD COLUMN last_touch text;
    `,
  },
  {
    version: 3,
    name: 'email events',
    // The SQLite store's migration 7: what became of each marketing email, no address, no name.
    sql: `
      CREATE TABLE email_outcomes (
        key text COLLATE "C" PRIMARY KEY,
        lead_id text COLLATE "C" NOT NULL,
        tenant text,
        item_id text COLLATE "C" NOT NULL,
        title text,
        outcome text NOT NULL,
        skip_reason text,
        at bigint NOT NULL
      );
      CREATE INDEX email_outcomes_tenant_at ON email_outcomes (tenant, at);
      CREATE INDEX email_outcomes_lead ON email_outcomes (lead_id);
    `,
  },
  {
    version: 4,
    name: 'sales owner on stage changes',
    // As the SQLite store's migration 8: a sales rep's identifier, for the SLA per owner.
    sql: 'ALTER TABLE stage_changes ADD COLUMN owner text;',
  },
];

/** Brings the database up to the newest migration this code knows; refuses a newer schema. */
export async function migratePostgres(client: pg.PoolClient, where: string): Promise<void> {
  // Session-level lock: held across the migrations' own transactions, released below even on failure.
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query(`
      CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const applied = new Set(rows.map((r) => r.version));
    const known = PG_MIGRATIONS.at(-1)?.version ?? 0;
    const newest = Math.max(0, ...applied);
    if (newest > known) {
      throw new AnalyticsStoreError(
        'schema_too_new',
        `${where} has schema version ${newest}; this leadcycle knows up to ${known}: upgrade leadcycle`,
      );
    }
    for (const migration of PG_MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => {});
  }
}
