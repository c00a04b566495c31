/**
 * The analytics store at scale: PostgreSQL through a node-postgres pool, shared by every worker and
 * API replica (LEADCYCLE_DATABASE_URL).
 *
 * - Opened lazily: the pool connects and migrates on first use, and again after a failure, so a
 *   database that is down at start-up, or restarted, only fails the calls made meanwhile.
 * - A failure is `AnalyticsStoreError('unavailable')`, never spooled: the activity fails and Temporal
 *   retries it (every write is idempotent by its key: nothing lost, nothing doubled), the API answers
 *   503, and a suppression that cannot be checked stops the send.
 * - Reports are aggregated in SQL (./reports.ts); the in-memory functions stay the reference.
 */

import pg from 'pg';
import type { LeadEvent } from '../../machines/index.js';
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
import type { ReportQueries } from '../report-queries.js';
import {
  EMAIL_OUTCOME_COLUMNS,
  type EmailOutcomeColumns,
  toEmailOutcomeColumns,
  toEmailOutcomeRow,
} from '../sqlite/email-rows.js';
import { AnalyticsStoreError } from '../sqlite/errors.js';
import type { StoreHealth } from '../sqlite/resilient.js';
import {
  STAGE_CHANGE_COLUMNS,
  type StageChangeColumns,
  toColumns,
  toStageChangeRow,
} from '../sqlite/rows.js';
import { pgFault, redactDatabaseUrl } from './faults.js';
import { migratePostgres } from './migrations.js';
import { PostgresReports } from './reports.js';

/** Leads per query when streaming the journal: bounds memory without a cursor held across yields. */
const JOURNAL_PAGE_LEADS = 1_000;

/** Rows per statement of a bulk write: PostgreSQL takes at most 65,535 parameters, arrays count one each. */
const BULK_ROWS = 5_000;

/** The tables that hold a lead's rows, by `lead_id`: what forgetting a lead deletes. */
const LEAD_TABLES = ['stage_changes', 'journal', 'leads', 'consent_changes', 'email_outcomes'] as const;

/** bigint columns (epoch ms, counts) as numbers: every value we store fits 2^53. */
const INT8_OID = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? Number
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

export interface PostgresStoreOptions {
  /** Connections in the pool; default 10. */
  max?: number;
  /** How long a call waits for a connection before failing `unavailable`; default 5 s. */
  connectTimeoutMs?: number;
}

export class PostgresAnalyticsStore implements AnalyticsStore {
  /** The database, without its password: for logs, errors and health. */
  readonly location: string;
  /** Reports aggregated in SQL: `Analytics` uses them instead of loading every stage change. */
  readonly reports: ReportQueries;
  readonly #url: string;
  readonly #password: string | null;
  readonly #pool: pg.Pool;
  #ready: Promise<void> | null = null;
  #closed = false;
  #health: StoreHealth = { status: 'up' };
  readonly #watchers = new Set<(health: StoreHealth) => void>();

  constructor(url: string, options: PostgresStoreOptions = {}) {
    this.#url = url;
    this.location = redactDatabaseUrl(url);
    let password: string | null = null;
    try {
      password = decodeURIComponent(new URL(url).password) || null;
    } catch {
      // An unparsable URL fails at the first query, named without it.
    }
    this.#password = password;
    this.#pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      types,
    });
    // An idle connection the server dropped (a restart): the pool discards it; the next call reconnects.
    this.#pool.on('error', () => {});
    this.reports = new PostgresReports((sql, params) => this.#query(sql, params));
  }

  /** The URL as given (password included): for a backtest thread, which opens its own pool. */
  get url(): string {
    return this.#url;
  }

  health(): StoreHealth {
    return this.#health;
  }

  /** Calls `listener` with the health now and on every change (the worker's gauge). */
  watch(listener: (health: StoreHealth) => void): void {
    this.#watchers.add(listener);
    listener(this.#health);
  }

  /** Reads the schema table: the health after trying. */
  async probe(): Promise<StoreHealth> {
    await this.#query('SELECT count(*) FROM schema_migrations').catch(() => {});
    return this.#health;
  }

  async recordStageChange(change: StageChangeRow): Promise<{ recorded: boolean }> {
    const c = toColumns(change);
    return this.#transaction(async (client) => {
      const { rowCount } = await client.query(
        `INSERT INTO stage_changes (${STAGE_CHANGE_COLUMNS})
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING`,
        [
          c.key,
          c.lead_id,
          c.seq,
          c.from_stage,
          c.to_stage,
          c.at,
          c.cause,
          c.reason,
          c.amount,
          c.tenant,
          c.first_touch,
          c.last_touch,
          c.owner,
        ],
      );
      if (change.tenant) await fillTenant(client, change.leadId, change.tenant);
      return { recorded: rowCount === 1 };
    });
  }

  /**
   * Many stage changes in few statements, idempotent by key as `recordStageChange`: for imports
   * (from the SQLite store) and test populations.
   */
  async recordStageChanges(rows: StageChangeRow[]): Promise<{ recorded: number }> {
    return this.#transaction(async (client) => {
      let recorded = 0;
      for (let i = 0; i < rows.length; i += BULK_ROWS) {
        const batch = rows.slice(i, i + BULK_ROWS).map(toColumns);
        const column = <K extends keyof StageChangeColumns>(k: K) => batch.map((c) => c[k]);
        const { rowCount } = await client.query(
          `INSERT INTO stage_changes (${STAGE_CHANGE_COLUMNS})
           SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::bigint[],
                                $7::text[], $8::text[], $9::float8[], $10::text[], $11::text[], $12::text[], $13::text[])
           ON CONFLICT DO NOTHING`,
          [
            column('key'),
            column('lead_id'),
            column('seq'),
            column('from_stage'),
            column('to_stage'),
            column('at'),
            column('cause'),
            column('reason'),
            column('amount'),
            column('tenant'),
            column('first_touch'),
            column('last_touch'),
            column('owner'),
          ],
        );
        recorded += rowCount ?? 0;
      }
      const tenants = new Map<string, string>();
      for (const row of rows) if (row.tenant) tenants.set(row.leadId, row.tenant);
      const pairs = [[...tenants.keys()], [...tenants.values()]];
      for (const table of ['stage_changes', 'leads']) {
        await client.query(
          `UPDATE ${table} AS t SET tenant = v.tenant FROM unnest($1::text[], $2::text[]) AS v(lead_id, tenant)
           WHERE t.lead_id = v.lead_id AND t.tenant IS NULL`,
          pairs,
        );
      }
      return { recorded };
    });
  }

  async recordJournal(lead: JournaledLead, entries: JournalEntry[]): Promise<{ recorded: number }> {
    for (const { leadId, seq } of entries) {
      if (leadId !== lead.leadId) {
        throw new AnalyticsStoreError(
          'lead_mismatch',
          `journal entry ${leadId}#${seq} recorded with lead ${lead.leadId}`,
        );
      }
    }
    return this.#transaction(async (client) => {
      await client.query(
        'INSERT INTO leads (lead_id, created_at, tenant) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [lead.leadId, lead.createdAt, lead.tenant ?? null],
      );
      if (lead.tenant) await fillTenant(client, lead.leadId, lead.tenant);
      if (entries.length === 0) return { recorded: 0 };
      // One statement for the batch: arrays unnested into rows.
      const { rowCount } = await client.query(
        `INSERT INTO journal (lead_id, seq, at, type, event)
         SELECT $1, * FROM unnest($2::int[], $3::bigint[], $4::text[], $5::text[])
         ON CONFLICT DO NOTHING`,
        [
          lead.leadId,
          entries.map((e) => e.seq),
          entries.map((e) => e.event.at),
          entries.map((e) => e.event.type),
          entries.map((e) => JSON.stringify(e.event)),
        ],
      );
      return { recorded: rowCount ?? 0 };
    });
  }

  async stageChanges(query: StageChangeQuery = {}): Promise<StageChangeRow[]> {
    const params: (string | number)[] = [];
    const where: string[] = [];
    const add = (clause: string, value: string | number) => {
      params.push(value);
      where.push(clause.replace('?', `$${params.length}`));
    };
    if (query.leadId !== undefined) add('lead_id = ?', query.leadId);
    if (query.tenant !== undefined) add('tenant = ?', query.tenant);
    if (query.since !== undefined) add('at >= ?', query.since);
    if (query.until !== undefined) add('at < ?', query.until);
    const { rows } = await this.#query<StageChangeColumns>(
      `SELECT ${STAGE_CHANGE_COLUMNS} FROM stage_changes
       ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY lead_id, seq`,
      params,
    );
    return rows.map(toStageChangeRow);
  }

  async *journal(query: JournalQuery = {}): AsyncGenerator<{ lead: JournaledLead; events: LeadEvent[] }> {
    let after: string | null = null;
    for (;;) {
      // One statement per page: each lead is read whole and consistently, no cursor held across yields.
      const { rows } = await this.#query<JournalPageRow>(
        `SELECT l.lead_id, l.created_at, l.tenant, j.event
         FROM (SELECT lead_id, created_at, tenant FROM leads
               WHERE ($1::text IS NULL OR lead_id > $1) AND ($2::text IS NULL OR tenant = $2)
               ORDER BY lead_id LIMIT $3) AS l
         LEFT JOIN journal AS j ON j.lead_id = l.lead_id
         ORDER BY l.lead_id, j.seq`,
        [after, query.tenant ?? null, JOURNAL_PAGE_LEADS],
      );
      const leads = leadsOfJournalPage(rows);
      for (const entry of leads) yield entry;
      const last = leads.at(-1);
      if (last === undefined || leads.length < JOURNAL_PAGE_LEADS) return;
      after = last.lead.leadId;
    }
  }

  async suppress(entry: Suppression): Promise<{ recorded: boolean }> {
    const s = SuppressionSchema.parse(entry);
    const { rowCount } = await this.#query(
      `INSERT INTO suppressions (tenant, address_hash, reason, at) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING`,
      [s.tenant, s.addressHash, s.reason, s.at],
    );
    return { recorded: rowCount === 1 };
  }

  async suppression(tenant: string, addressHash: string): Promise<Suppression | null> {
    const { rows } = await this.#query<{ tenant: string; address_hash: string; reason: string; at: number }>(
      'SELECT tenant, address_hash, reason, at FROM suppressions WHERE tenant = $1 AND address_hash = $2',
      [tenant, addressHash],
    );
    const row = rows[0];
    if (!row) return null;
    return SuppressionSchema.parse({
      tenant: row.tenant,
      addressHash: row.address_hash,
      reason: row.reason,
      at: row.at,
    });
  }

  async recordConsentChange(change: ConsentChangeRow): Promise<{ recorded: boolean }> {
    const row = ConsentChangeRowSchema.parse(change);
    const { rowCount } = await this.#query(
      `INSERT INTO consent_changes (key, lead_id, consent, do_not_contact, source, at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
      [row.key, row.leadId, row.consent, row.doNotContact, row.source, row.at],
    );
    return { recorded: rowCount === 1 };
  }

  async consentChanges(leadId: string): Promise<ConsentChangeRow[]> {
    const { rows } = await this.#query<{
      key: string;
      lead_id: string;
      consent: string;
      do_not_contact: boolean;
      source: string;
      at: number;
    }>('SELECT * FROM consent_changes WHERE lead_id = $1 ORDER BY at, key', [leadId]);
    return rows.map((r) =>
      ConsentChangeRowSchema.parse({
        key: r.key,
        leadId: r.lead_id,
        consent: r.consent,
        doNotContact: r.do_not_contact,
        source: r.source,
        at: r.at,
      }),
    );
  }

  async recordEmailOutcome(row: EmailOutcomeRow): Promise<{ recorded: boolean }> {
    const c = toEmailOutcomeColumns(row);
    const { rowCount } = await this.#query(
      `INSERT INTO email_outcomes (${EMAIL_OUTCOME_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT DO NOTHING`,
      [c.key, c.lead_id, c.tenant, c.item_id, c.title, c.outcome, c.skip_reason, c.at],
    );
    return { recorded: rowCount === 1 };
  }

  async emailOutcomes(query: EmailOutcomeQuery = {}): Promise<EmailOutcomeRow[]> {
    const { rows } = await this.#query<EmailOutcomeColumns>(
      `SELECT ${EMAIL_OUTCOME_COLUMNS} FROM email_outcomes
       WHERE ($1::text IS NULL OR tenant = $1) AND ($2::bigint IS NULL OR at < $2)
         AND ($3::text IS NULL OR lead_id = $3)
       ORDER BY at, key`,
      [query.tenant ?? null, query.until ?? null, query.leadId ?? null],
    );
    return rows.map(toEmailOutcomeRow);
  }

  async forgetLead(leadId: string): Promise<{ removed: number }> {
    return this.#transaction(async (client) => {
      let removed = 0;
      for (const table of LEAD_TABLES) {
        removed += (await client.query(`DELETE FROM ${table} WHERE lead_id = $1`, [leadId])).rowCount ?? 0;
      }
      return { removed };
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }

  /** Connects and migrates once; a failure is forgotten, so the next call tries again. */
  #migrated(): Promise<void> {
    this.#ready ??= (async () => {
      const client = await checkOut(this.#pool);
      try {
        await migratePostgres(client, this.location);
      } finally {
        client.release();
      }
    })().catch((err: unknown) => {
      this.#ready = null;
      throw err;
    });
    return this.#ready;
  }

  async #query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    sql: string,
    params: unknown[] = [],
  ): Promise<pg.QueryResult<R>> {
    return this.#guard(async () => this.#pool.query<R>(sql, params));
  }

  async #transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#guard(async () => {
      const client = await checkOut(this.#pool);
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      } finally {
        // A connection that could not even roll back is dropped, not returned to the pool.
        client.release(broken);
      }
    });
  }

  /** Runs `action` on a migrated database; a failure becomes the store's typed error and its health. */
  async #guard<T>(action: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new AnalyticsStoreError('closed', `${this.location} is closed`);
    try {
      await this.#migrated();
      const result = await action();
      this.#setHealth({ status: 'up' });
      return result;
    } catch (err) {
      const fault = pgFault(this.location, err, this.#password);
      if (fault.code !== 'closed' && fault.code !== 'lead_mismatch') {
        const previous = this.#health;
        if (previous.status === 'up' || previous.code !== fault.code) {
          this.#setHealth({
            status: 'degraded',
            code: fault.code,
            message: fault.message,
            since: Date.now(),
          });
        }
      }
      throw fault;
    }
  }

  #setHealth(health: StoreHealth): void {
    if (health.status === 'up' && this.#health.status === 'up') return;
    this.#health = health;
    for (const watcher of this.#watchers) watcher(health);
  }
}

/**
 * A client of the pool for several statements. A checked-out client whose server goes away emits
 * `error` besides failing its query, and the pool listens only while it is idle: unheard, that event
 * would crash the process. The failed query already reports it.
 */
async function checkOut(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  if (client.listenerCount('error') === 0) client.on('error', () => {});
  return client;
}

/** Fills in the tenant of a lead's rows written before it was known (the SQLite store's migration 5). */
async function fillTenant(client: pg.PoolClient, leadId: string, tenant: string): Promise<void> {
  await client.query('UPDATE stage_changes SET tenant = $1 WHERE lead_id = $2 AND tenant IS NULL', [
    tenant,
    leadId,
  ]);
  await client.query('UPDATE leads SET tenant = $1 WHERE lead_id = $2 AND tenant IS NULL', [tenant, leadId]);
}
