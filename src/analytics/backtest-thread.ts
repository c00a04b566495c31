/**
 * The body of one backtest thread (src/analytics/backtest-jobs.ts starts it with `node:worker_threads`):
 * opens the SQLite store by its file, replays the journal, posts the report or the error, and ends.
 * A plain module with no host state, so it runs the same from TypeScript (tsx) and once built.
 * The replay is CPU-bound and synchronous: only here does it leave the API's event loop free.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LeadcycleError } from '../errors.js';
import type { LeadcycleConfigInput } from '../machines/index.js';
import { type BacktestReport, backtest } from './backtest.js';
import { PostgresAnalyticsStore } from './postgres/store.js';
import { POOLED_FROM_LEADS, replayPool } from './replay-pool.js';
import { byLead } from './reports.js';
import { SqliteAnalyticsStore } from './sqlite/store.js';

export interface BacktestThreadInput {
  /** The analytics store's SQLite file, or its PostgreSQL URL. */
  file: string;
  /** The whole config to replay (the live config with the what-if's fields). */
  config: LeadcycleConfigInput;
  label: string;
  until: number;
  /** Only this tenant's leads; absent: every tenant. */
  tenant?: string;
}

export type BacktestThreadMessage =
  | { ok: true; report: BacktestReport }
  /** `code` is a LeadcycleError's; null for anything else (a bug: its message stays in the log). */
  | { ok: false; error: { name: string; code: string | null; message: string } };

async function run({
  file,
  config,
  label,
  until,
  tenant,
}: BacktestThreadInput): Promise<BacktestThreadMessage> {
  const store = /^postgres(ql)?:\/\//.test(file)
    ? new PostgresAnalyticsStore(file)
    : SqliteAnalyticsStore.open(file);
  try {
    const scope = tenant === undefined ? {} : { tenant };
    const recorded = byLead(await store.stageChanges(scope));
    // A large journal replays over threads of this thread's own (terminated with it at the time box).
    const pooled = recorded.size >= POOLED_FROM_LEADS ? { replayer: replayPool() } : {};
    const report = await backtest(store.journal(scope), [{ label, config }], { until, recorded, ...pooled });
    return { ok: true, report };
  } catch (err) {
    const { name, message } = err instanceof Error ? err : new Error(String(err));
    return { ok: false, error: { name, code: err instanceof LeadcycleError ? err.code : null, message } };
  } finally {
    await store.close();
  }
}

if (parentPort) parentPort.postMessage(await run(workerData as BacktestThreadInput));
