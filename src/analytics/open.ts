/**
 * The one place a process opens its analytics store: PostgreSQL when LEADCYCLE_DATABASE_URL is set,
 * else SQLite in the data dir (the embedded default).
 */
import type { Settings } from '../settings.js';
import { PostgresAnalyticsStore } from './postgres/store.js';
import type { AnalyticsStore } from './records.js';
import { openResilientStore, type StoreHealth } from './sqlite/resilient.js';
import { openAnalyticsStore } from './sqlite/store.js';

/** A store as long-running processes hold it: with its health, for readiness and the worker's gauge. */
export interface ServedAnalyticsStore extends AnalyticsStore {
  /** Where it lives, for logs: SQLite's file, or the PostgreSQL URL without its password. */
  readonly location: string;
  health(): StoreHealth;
  /** Tries the store now and answers its health. */
  probe(): Promise<StoreHealth>;
  /** Calls `listener` with the health now and on every change. */
  watch(listener: (health: StoreHealth) => void): void;
}

type StoreSettings = Pick<
  Settings,
  'LEADCYCLE_DATABASE_URL' | 'LEADCYCLE_ANALYTICS_BUSY_TIMEOUT_MS' | 'LEADCYCLE_ANALYTICS_RETRY_MS'
>;

/**
 * The store of a long-running process (the worker, the API). SQLite is wrapped in the resilient
 * store (a spool while the file is busy or damaged; `drain`: this process writes the spool into
 * it); PostgreSQL fails a call it cannot serve with `unavailable`, which Temporal retries.
 */
export function openServedStore(
  dataDir: string,
  settings: StoreSettings,
  options: { drain: boolean; log?: (line: string) => void },
): ServedAnalyticsStore {
  if (settings.LEADCYCLE_DATABASE_URL) return new PostgresAnalyticsStore(settings.LEADCYCLE_DATABASE_URL);
  return openResilientStore(dataDir, settings, options);
}

/** The store of a command or a tool (the CLI): opened now, closed by the caller. */
export function openStore(
  dataDir: string,
  settings: Pick<Settings, 'LEADCYCLE_DATABASE_URL'>,
): AnalyticsStore {
  if (settings.LEADCYCLE_DATABASE_URL) return new PostgresAnalyticsStore(settings.LEADCYCLE_DATABASE_URL);
  return openAnalyticsStore(dataDir);
}
