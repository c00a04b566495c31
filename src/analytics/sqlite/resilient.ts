/**
 * The analytics store as the worker and the API hold it: one store fault never stops the engine.
 *
 * - Opened lazily and reopened after a failure: a corrupt, unreadable or too-new `leadcycle.db` does
 *   not stop the process that holds it; `health()` says what is wrong (readiness, a metric).
 * - Short busy timeout: better-sqlite3 is synchronous, so a write waiting on another process's lock
 *   blocks the whole event loop; it waits `busyTimeoutMs` at most.
 * - The writes the workflow only records (stage changes, journal batches, consent changes, email
 *   outcomes) go to a spool, `<dataDir>/analytics-spool.jsonl` (synced before the activity returns),
 *   when the store cannot take them, and are drained into it in the background once it can: the effects queued
 *   behind them in the workflow (emails, handoffs) do not wait for the database. Every write is
 *   idempotent by its key, so draining twice is harmless.
 * - A do-not-contact's suppression waiting in the spool is honoured by `suppression()`; a suppression
 *   list that cannot be read at all fails the check (retried by Temporal): no marketing email or
 *   handoff leaves without it.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { JsonlLog, readJsonl } from '../../activities/jsonl.js';
import type { LeadEvent } from '../../machines/index.js';
import {
  type AnalyticsStore,
  type ConsentChangeRow,
  ConsentChangeRowSchema,
  type EmailOutcomeQuery,
  type EmailOutcomeRow,
  EmailOutcomeRowSchema,
  type JournalEntry,
  type JournaledLead,
  JournaledLeadSchema,
  type JournalQuery,
  type StageChangeQuery,
  type StageChangeRow,
  StageChangeRowSchema,
  type Suppression,
  SuppressionSchema,
} from '../records.js';
import { AnalyticsStoreError, type AnalyticsStoreErrorCode } from './errors.js';
import { ANALYTICS_DB_FILE, openAnalyticsStore, type SqliteAnalyticsStore } from './store.js';

export const ANALYTICS_SPOOL_FILE = 'analytics-spool.jsonl';

/** What readiness and the `leadcycle_analytics_store_up` gauge report. */
export type StoreHealth =
  | { status: 'up' }
  | { status: 'degraded'; code: AnalyticsStoreErrorCode; message: string; since: number };

export interface ResilientStoreOptions {
  /** Longest one statement blocks the process on another's lock. */
  busyTimeoutMs: number;
  /** How often a degraded store is reopened, and the spool drained (with `drain`). */
  retryMs: number;
  /** Drain the spool in the background: the worker does; the API only erases from it. */
  drain: boolean;
  /** Where a change of health is logged; default console.warn. */
  log?: (line: string) => void;
}

/** Records per drain transaction: bounds how long one drain blocks the event loop. */
const DRAIN_BATCH = 200;

const SpoolRecordSchema = z.discriminatedUnion('kind', [
  z.object({ key: z.string().min(1), kind: z.literal('stage_change'), row: StageChangeRowSchema }),
  z.object({
    key: z.string().min(1),
    kind: z.literal('journal'),
    lead: JournaledLeadSchema,
    // Redacted events, validated when the activity built them: kept as they are.
    entries: z.array(
      z.object({ leadId: z.string().min(1), seq: z.number().int().positive(), event: z.looseObject({}) }),
    ),
  }),
  z.object({
    key: z.string().min(1),
    kind: z.literal('consent_change'),
    change: ConsentChangeRowSchema,
  }),
  z.object({ key: z.string().min(1), kind: z.literal('suppression'), entry: SuppressionSchema }),
  z.object({ key: z.string().min(1), kind: z.literal('email_outcome'), row: EmailOutcomeRowSchema }),
]);
type SpoolRecord = z.infer<typeof SpoolRecordSchema>;

const leadOf = (r: SpoolRecord): string | null =>
  r.kind === 'stage_change' || r.kind === 'email_outcome'
    ? r.row.leadId
    : r.kind === 'journal'
      ? r.lead.leadId
      : r.kind === 'consent_change'
        ? r.change.leadId
        : null;

/** A better-sqlite3 or file-system failure as the store's typed error; anything else is a bug, rethrown. */
export function storeFault(file: string, err: unknown): AnalyticsStoreError {
  if (err instanceof AnalyticsStoreError) return err;
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  const reason = err instanceof Error ? err.message : String(err);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new AnalyticsStoreError('busy', `${file} is locked by another process (${code})`, { cause: err });
  }
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB')) {
    return new AnalyticsStoreError('corrupt', `${file} is damaged (${code}: ${reason})`, { cause: err });
  }
  if (code.startsWith('SQLITE_') || /^E[A-Z]+$/.test(code)) {
    return new AnalyticsStoreError('unavailable', `${file} cannot be used (${code}: ${reason})`, {
      cause: err,
    });
  }
  throw err;
}

/** The codes under which a record the store cannot take now is spooled instead of failing. */
const SPOOLABLE: ReadonlySet<AnalyticsStoreErrorCode> = new Set(['busy', 'corrupt', 'unavailable']);

export class ResilientAnalyticsStore implements AnalyticsStore {
  readonly file: string;
  /** Where it lives, for logs (the served-store vocabulary, src/analytics/open.ts). */
  get location(): string {
    return this.file;
  }
  readonly #dataDir: string;
  readonly #options: ResilientStoreOptions;
  readonly #spool: JsonlLog<SpoolRecord>;
  #store: SqliteAnalyticsStore | null = null;
  #health: StoreHealth = { status: 'up' };
  readonly #watchers = new Set<(health: StoreHealth) => void>();
  #closed = false;
  #timer: NodeJS.Timeout | null = null;
  #draining: Promise<void> | null = null;
  /** Suppressions waiting in the spool, by `tenant/hash`; loaded from the spool file on first use. */
  #pendingSuppressions: Promise<Map<string, Suppression>> | null = null;

  constructor(dataDir: string, options: ResilientStoreOptions) {
    this.#dataDir = dataDir;
    this.#options = options;
    this.file = join(dataDir, ANALYTICS_DB_FILE);
    this.#spool = new JsonlLog(join(dataDir, ANALYTICS_SPOOL_FILE), SpoolRecordSchema);
    // Opened now so a healthy store says so at start; a failure only degrades it.
    this.#tryOpen();
    if (options.drain) {
      this.#timer = setInterval(() => void this.drain(), options.retryMs);
      this.#timer.unref();
    }
  }

  get spoolFile(): string {
    return this.#spool.file;
  }

  health(): StoreHealth {
    return this.#health;
  }

  /** Calls `listener` with the health now and on every change (the worker's gauge). */
  watch(listener: (health: StoreHealth) => void): void {
    this.#watchers.add(listener);
    listener(this.#health);
  }

  /** Opens the store if it is not, then reads from it: what readiness calls. */
  async probe(): Promise<StoreHealth> {
    await this.#use((store) => store.probe(), false).catch(() => {});
    return this.#health;
  }

  async recordStageChange(change: StageChangeRow): Promise<{ recorded: boolean }> {
    return this.#orSpool(
      (store) => store.recordStageChange(change),
      { key: change.key, kind: 'stage_change', row: change },
      { recorded: true },
    );
  }

  async recordJournal(lead: JournaledLead, entries: JournalEntry[]): Promise<{ recorded: number }> {
    const key = `journal:${lead.leadId}:${entries[0]?.seq ?? 0}-${entries.at(-1)?.seq ?? 0}`;
    return this.#orSpool(
      (store) => store.recordJournal(lead, entries),
      { key, kind: 'journal', lead, entries },
      { recorded: entries.length },
    );
  }

  async recordConsentChange(change: ConsentChangeRow): Promise<{ recorded: boolean }> {
    return this.#orSpool(
      (store) => store.recordConsentChange(change),
      { key: change.key, kind: 'consent_change', change },
      { recorded: true },
    );
  }

  async recordEmailOutcome(row: EmailOutcomeRow): Promise<{ recorded: boolean }> {
    return this.#orSpool(
      (store) => store.recordEmailOutcome(row),
      { key: `email:${row.key}`, kind: 'email_outcome', row },
      { recorded: true },
    );
  }

  emailOutcomes(query?: EmailOutcomeQuery): Promise<EmailOutcomeRow[]> {
    return this.#use((store) => store.emailOutcomes(query), false);
  }

  async suppress(entry: Suppression): Promise<{ recorded: boolean }> {
    const result = await this.#orSpool(
      (store) => store.suppress(entry),
      { key: `suppression:${entry.tenant}:${entry.addressHash}`, kind: 'suppression', entry },
      { recorded: true },
    );
    return result;
  }

  async suppression(tenant: string, addressHash: string): Promise<Suppression | null> {
    const pending = (await this.#pending()).get(`${tenant}/${addressHash}`);
    if (pending) return pending;
    return this.#use((store) => store.suppression(tenant, addressHash), false);
  }

  stageChanges(query?: StageChangeQuery): Promise<StageChangeRow[]> {
    return this.#use((store) => store.stageChanges(query), false);
  }

  async *journal(query?: JournalQuery): AsyncGenerator<{ lead: JournaledLead; events: LeadEvent[] }> {
    const store = this.#open();
    try {
      yield* store.journal(query);
    } catch (err) {
      throw this.#fault(err);
    }
  }

  consentChanges(leadId: string): Promise<ConsentChangeRow[]> {
    return this.#use((store) => store.consentChanges(leadId), false);
  }

  /** Erases the lead's spooled records first, so no drain writes them back after the delete. */
  async forgetLead(leadId: string): Promise<{ removed: number }> {
    const spooled = await this.#spool.rewrite((r) => leadOf(r) !== leadId);
    const stored = await this.#use((store) => store.forgetLead(leadId), true);
    return { removed: spooled.removed + stored.removed };
  }

  /**
   * Writes the spooled records into the store, then drops them from the spool. Does nothing while
   * the store is degraded (the next tick tries again). A drain that reads a record just before a
   * forget of its lead rewrites the spool, and writes it just after the forget's delete, would bring
   * it back: forget terminates the lead's workflow first, so that window is one drain tick.
   */
  drain(): Promise<void> {
    this.#draining ??= this.#drainOnce().finally(() => {
      this.#draining = null;
    });
    return this.#draining;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    await this.#draining?.catch(() => {});
    // A last drain, so a clean stop leaves the spool empty when the store is fine.
    if (this.#options.drain) await this.#drainOnce().catch(() => {});
    await this.#spool.close();
    await this.#store?.close();
    this.#store = null;
  }

  async #drainOnce(): Promise<void> {
    const records = await readJsonl(this.#spool.file, SpoolRecordSchema);
    if (records.length === 0) {
      // Nothing waits, but a damaged or missing store may have been restored: say so when it is.
      if (this.#health.status === 'degraded') await this.probe();
      return;
    }
    const store = this.#tryOpen();
    if (!store) return;
    const done = new Set<string>();
    try {
      for (let i = 0; i < records.length; i += DRAIN_BATCH) {
        for (const record of records.slice(i, i + DRAIN_BATCH)) {
          await this.#write(store, record);
          done.add(record.key);
        }
        // Lets activities and workflow tasks in between batches.
        await new Promise((resolve) => setImmediate(resolve));
      }
      this.#up();
    } catch (err) {
      this.#fault(err);
    } finally {
      if (done.size > 0) await this.#spool.rewrite((r) => !done.has(r.key));
    }
  }

  async #write(store: SqliteAnalyticsStore, record: SpoolRecord): Promise<void> {
    switch (record.kind) {
      case 'stage_change':
        await store.recordStageChange(record.row);
        return;
      case 'journal':
        await store.recordJournal(record.lead, record.entries as JournalEntry[]);
        return;
      case 'consent_change':
        await store.recordConsentChange(record.change);
        return;
      case 'suppression':
        await store.suppress(record.entry);
        return;
      case 'email_outcome':
        await store.recordEmailOutcome(record.row);
        return;
    }
  }

  async #orSpool<T>(
    write: (store: SqliteAnalyticsStore) => Promise<T>,
    record: SpoolRecord,
    spooled: T,
  ): Promise<T> {
    try {
      // While degraded, straight to the spool: only the drain tick meets the lock (or the damage)
      // again, so the event loop is blocked at most once a tick, not once a write.
      if (this.#health.status === 'degraded' && SPOOLABLE.has(this.#health.code)) throw this.#faultNow();
      return await this.#use(write, true);
    } catch (err) {
      if (!(err instanceof AnalyticsStoreError) || !SPOOLABLE.has(err.code)) throw err;
      await this.#spool.append(record);
      if (record.kind === 'suppression') {
        (await this.#pending()).set(`${record.entry.tenant}/${record.entry.addressHash}`, record.entry);
      }
      return spooled;
    }
  }

  #faultNow(): AnalyticsStoreError {
    const health = this.#health;
    return health.status === 'up'
      ? new AnalyticsStoreError('unavailable', `${this.file} is unavailable`)
      : new AnalyticsStoreError(health.code, health.message);
  }

  #pending(): Promise<Map<string, Suppression>> {
    this.#pendingSuppressions ??= readJsonl(
      this.#spool.file,
      SpoolRecordSchema,
      (r) => r.kind === 'suppression',
    ).then(
      (records) =>
        new Map(
          records.flatMap((r) =>
            r.kind === 'suppression' ? [[`${r.entry.tenant}/${r.entry.addressHash}`, r.entry] as const] : [],
          ),
        ),
    );
    return this.#pendingSuppressions;
  }

  /** A read that succeeds does not clear a lock fault: reads pass another process's write lock (WAL). */
  async #use<T>(action: (store: SqliteAnalyticsStore) => T | Promise<T>, write: boolean): Promise<T> {
    const store = this.#open();
    try {
      const result = await action(store);
      if (write || this.#health.status === 'up' || this.#health.code !== 'busy') this.#up();
      return result;
    } catch (err) {
      throw this.#fault(err);
    }
  }

  /** The open store, or the typed reason it cannot be opened. */
  #open(): SqliteAnalyticsStore {
    if (this.#closed) throw new AnalyticsStoreError('closed', `${this.file} is closed`);
    if (this.#store) return this.#store;
    try {
      this.#store = openAnalyticsStore(this.#dataDir, { busyTimeoutMs: this.#options.busyTimeoutMs });
    } catch (err) {
      throw this.#fault(err);
    }
    return this.#store;
  }

  #tryOpen(): SqliteAnalyticsStore | null {
    try {
      return this.#open();
    } catch {
      return null;
    }
  }

  #up(): void {
    if (this.#health.status === 'up') return;
    this.#setHealth({ status: 'up' });
  }

  #setHealth(health: StoreHealth): void {
    this.#health = health;
    const log = this.#options.log ?? console.warn;
    log(
      health.status === 'up'
        ? `leadcycle: analytics store ${this.file} is up again`
        : `leadcycle: analytics store degraded (${health.code}): ${health.message}; stage changes and the journal are spooled to ${this.#spool.file}`,
    );
    for (const watcher of this.#watchers) watcher(health);
  }

  /** Records the fault in the health; a damaged file is closed, so the next use reopens it (restored). */
  #fault(err: unknown): AnalyticsStoreError {
    const fault = storeFault(this.file, err);
    if (fault.code === 'closed' && this.#closed) return fault;
    if (fault.code !== 'busy' && this.#store) {
      const store = this.#store;
      this.#store = null;
      void store.close();
    }
    const previous = this.#health;
    if (previous.status === 'up' || previous.code !== fault.code) {
      this.#setHealth({ status: 'degraded', code: fault.code, message: fault.message, since: Date.now() });
    }
    return fault;
  }
}

/** The store from the settings (src/settings.ts, LEADCYCLE_ANALYTICS_*). */
export function openResilientStore(
  dataDir: string,
  settings: { LEADCYCLE_ANALYTICS_BUSY_TIMEOUT_MS: number; LEADCYCLE_ANALYTICS_RETRY_MS: number },
  options: Pick<ResilientStoreOptions, 'drain' | 'log'>,
): ResilientAnalyticsStore {
  return new ResilientAnalyticsStore(dataDir, {
    ...options,
    busyTimeoutMs: settings.LEADCYCLE_ANALYTICS_BUSY_TIMEOUT_MS,
    retryMs: settings.LEADCYCLE_ANALYTICS_RETRY_MS,
  });
}
