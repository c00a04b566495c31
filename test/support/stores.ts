/**
 * The analytics stores the store and report tests run against: SQLite in a temp dir and PostgreSQL on
 * one throwaway server per test file (a fresh database per store), so the same tests prove both.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { PostgresAnalyticsStore } from '../../src/analytics/postgres/index.js';
import type { AnalyticsStore, StageChangeRow } from '../../src/analytics/records.js';
import { SqliteAnalyticsStore } from '../../src/analytics/sqlite/index.js';
import { type RunningPostgres, startPostgres } from '../../src/temporal/postgres.js';

export type StoreKind = 'SQLite' | 'PostgreSQL';
export const STORE_KINDS: readonly StoreKind[] = ['SQLite', 'PostgreSQL'];

export interface TestStores {
  /** A new, empty store of that kind, closed after the file. */
  open(
    kind: StoreKind,
  ): Promise<AnalyticsStore & { recordStageChanges(rows: StageChangeRow[]): Promise<{ recorded: number }> }>;
  /** The file's PostgreSQL server (started in beforeAll). */
  readonly postgres: RunningPostgres;
  /** A new, empty database on it: its URL. */
  database(): Promise<string>;
}

/** Registers beforeAll/afterAll: one PostgreSQL server and one temp dir for the test file. */
export function useTestStores(): TestStores {
  let server: RunningPostgres | undefined;
  let dir = '';
  let pgDir = '';
  let n = 0;
  const opened: AnalyticsStore[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'leadcycle-stores-'));
    // A dir of its own: it is handed to the postgres user, who could not enter ours.
    pgDir = await mkdtemp(join(tmpdir(), 'leadcycle-stores-pg-'));
    server = await startPostgres({ dataDir: pgDir, durable: false });
  }, 60_000);
  afterAll(async () => {
    for (const store of opened.splice(0)) await store.close().catch(() => {});
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
    await rm(pgDir, { recursive: true, force: true });
  });
  const stores: TestStores = {
    get postgres() {
      if (!server) throw new Error('PostgreSQL is not started yet (use it inside a test)');
      return server;
    },
    async database() {
      const name = `store_${++n}`;
      await stores.postgres.createDatabase(name);
      return stores.postgres.urlOf(name);
    },
    async open(kind) {
      const store =
        kind === 'SQLite'
          ? SqliteAnalyticsStore.open(join(dir, `store-${++n}.db`))
          : new PostgresAnalyticsStore(await stores.database());
      opened.push(store);
      return store;
    },
  };
  return stores;
}
