/**
 * Backtests as jobs, off the API's event loop: each runs in its own `node:worker_threads` thread over
 * the SQLite store (src/analytics/backtest-thread.ts), within a time box, at most `concurrency` at
 * once, and stops (its thread terminated) when cancelled. A replay is synchronous CPU work: on the
 * main thread one large or hostile what-if would stall every other request, health checks included.
 *
 * Jobs live in memory: a finished one is kept `ttlMs` (then forgotten), and a restart forgets them all.
 */
import { randomUUID } from 'node:crypto';
import type { Worker } from 'node:worker_threads';
import { LeadcycleError } from '../errors.js';
import type { LeadcycleConfigInput } from '../machines/index.js';
import type { BacktestReport } from './backtest.js';
import type { BacktestThreadInput, BacktestThreadMessage } from './backtest-thread.js';
import { PostgresAnalyticsStore } from './postgres/store.js';
import { ResilientAnalyticsStore } from './sqlite/resilient.js';
import { SqliteAnalyticsStore } from './sqlite/store.js';
import { startThread, threadModule } from './threads.js';

export const DEFAULT_BACKTEST_TIMEOUT_MS = 60_000;
export const DEFAULT_BACKTEST_CONCURRENCY = 1;
export const DEFAULT_BACKTEST_TTL_MS = 15 * 60_000;
/** Finished jobs kept at most, oldest forgotten first: bounds memory whatever the TTL. */
const MAX_FINISHED_JOBS = 100;

export type BacktestJobErrorCode =
  /** Over the time box: the thread was stopped. */
  | 'backtest_timeout'
  /** `concurrency` backtests already run: retry later. */
  | 'too_many_backtests'
  /** Cancelled (DELETE, or the waiting client left): the thread was stopped. */
  | 'backtest_cancelled'
  /** The thread failed for a reason that is not the backtest's (a bug); its message is logged. */
  | 'backtest_failed';

export class BacktestJobError extends LeadcycleError<BacktestJobErrorCode> {
  constructor(
    code: BacktestJobErrorCode,
    message: string,
    /** For too_many_backtests: seconds until a slot frees at the latest. */
    readonly retryAfterSeconds?: number,
  ) {
    super(code, message);
  }
}

export type BacktestJobStatus = 'running' | 'succeeded' | 'failed' | 'cancelled';

export interface BacktestJobView {
  id: string;
  status: BacktestJobStatus;
  label: string;
  until: number;
  createdAt: number;
  /** When the thread ended (its `exit`), for every status but running. */
  finishedAt: number | null;
  /** The report, when succeeded. */
  result: BacktestReport | null;
  /** Why it failed or was cancelled: `no_leads`, `deadlines_do_not_advance`, `backtest_timeout`, … */
  error: { code: string; message: string } | null;
}

export interface BacktestLimits {
  /** The time box of one backtest (LEADCYCLE_BACKTEST_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Backtests running at once (LEADCYCLE_BACKTEST_CONCURRENCY). */
  concurrency?: number;
  /** How long a finished job is kept. */
  ttlMs?: number;
}

export interface BacktestJobsOptions extends BacktestLimits {
  /** The analytics store each thread opens on its own: SQLite's file, or the PostgreSQL URL. */
  file: string;
  /** Errors that are bugs (not the backtest's own refusals), for the host's log. */
  onBug?: (err: { name: string; message: string }, jobId: string) => void;
}

interface Job {
  view: BacktestJobView;
  worker: Worker | null;
  /** Resolves once the thread has exited, whatever the outcome. */
  done: Promise<BacktestJobView>;
  deadline: number;
  /** Set before terminating, so `exit` knows why: cancelled, or failed (the time box). */
  stopping: { status: 'cancelled' | 'failed'; error: BacktestJobError } | null;
}

const THREAD_MODULE = threadModule('backtest-thread');

export class BacktestJobs {
  readonly file: string;
  readonly timeoutMs: number;
  readonly concurrency: number;
  readonly ttlMs: number;
  readonly #jobs = new Map<string, Job>();
  readonly #onBug: NonNullable<BacktestJobsOptions['onBug']>;
  #closed = false;

  constructor(options: BacktestJobsOptions) {
    this.file = options.file;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_BACKTEST_TIMEOUT_MS;
    this.concurrency = options.concurrency ?? DEFAULT_BACKTEST_CONCURRENCY;
    this.ttlMs = options.ttlMs ?? DEFAULT_BACKTEST_TTL_MS;
    this.#onBug = options.onBug ?? (() => {});
  }

  /** Jobs over an analytics store a thread can open again: SQLite's file (plain or behind the resilient store), or PostgreSQL. */
  static over(store: unknown, options: Omit<BacktestJobsOptions, 'file'> = {}): BacktestJobs {
    if (store instanceof PostgresAnalyticsStore) return new BacktestJobs({ ...options, file: store.url });
    if (!(store instanceof SqliteAnalyticsStore || store instanceof ResilientAnalyticsStore)) {
      throw new TypeError('backtest jobs need the SQLite analytics store: each thread opens its file');
    }
    return new BacktestJobs({ ...options, file: store.file });
  }

  /** Threads alive now (started, not exited). */
  get running(): number {
    let n = 0;
    for (const job of this.#jobs.values()) if (job.worker) n++;
    return n;
  }

  /**
   * Starts a backtest of `config` (the whole config: live fields and the what-if's) in a thread.
   * Throws too_many_backtests when `concurrency` already run.
   */
  start(
    config: LeadcycleConfigInput,
    options: { label: string; until: number; tenant?: string | null },
  ): BacktestJobView {
    this.#sweep();
    if (this.#closed) throw new BacktestJobError('backtest_cancelled', 'the API is stopping');
    if (this.running >= this.concurrency) {
      const soonest = Math.min(...[...this.#jobs.values()].filter((j) => j.worker).map((j) => j.deadline));
      throw new BacktestJobError(
        'too_many_backtests',
        `${this.concurrency} backtest(s) already running, the most this API runs at once; retry later`,
        Math.max(1, Math.ceil((soonest - Date.now()) / 1000)),
      );
    }
    const id = randomUUID();
    const now = Date.now();
    const view: BacktestJobView = {
      id,
      status: 'running',
      label: options.label,
      until: options.until,
      createdAt: now,
      finishedAt: null,
      result: null,
      error: null,
    };
    const input: BacktestThreadInput = {
      file: this.file,
      config,
      label: options.label,
      until: options.until,
      ...(options.tenant ? { tenant: options.tenant } : {}),
    };
    const worker = startThread(THREAD_MODULE, input);
    const job: Job = { view, worker, deadline: now + this.timeoutMs, stopping: null, done: null as never };
    job.done = new Promise((resolve) => {
      let outcome: BacktestThreadMessage | null = null;
      const timer = setTimeout(() => {
        this.#stop(
          job,
          'failed',
          new BacktestJobError(
            'backtest_timeout',
            `the backtest ran longer than ${this.timeoutMs / 1000} s, the API's limit ` +
              '(LEADCYCLE_BACKTEST_TIMEOUT_MS): replay fewer leads (an earlier until), or run `leadcycle backtest`',
          ),
        );
      }, this.timeoutMs);
      worker.on('message', (message: BacktestThreadMessage) => {
        outcome = message;
      });
      worker.on('error', (err) => {
        outcome = { ok: false, error: { name: err.name, code: null, message: err.message } };
      });
      // The one place a job finishes: once its thread is gone, so "not running" means no thread.
      worker.once('exit', () => {
        clearTimeout(timer);
        job.worker = null;
        view.finishedAt = Date.now();
        if (outcome?.ok) {
          // Done before the stop could land: the report stands.
          view.status = 'succeeded';
          view.result = outcome.report;
        } else if (job.stopping) {
          view.status = job.stopping.status;
          view.error = { code: job.stopping.error.code, message: job.stopping.error.message };
        } else {
          view.status = 'failed';
          const error = outcome?.error ?? { name: 'Error', code: null, message: 'the thread ended early' };
          if (error.code === null) this.#onBug(error, id);
          view.error =
            error.code === null
              ? { code: 'backtest_failed', message: 'the backtest failed unexpectedly; see the API log' }
              : { code: error.code, message: error.message };
        }
        resolve(view);
      });
    });
    this.#jobs.set(id, job);
    return view;
  }

  /** Every job kept, oldest first. */
  list(): BacktestJobView[] {
    this.#sweep();
    return [...this.#jobs.values()].map((job) => job.view);
  }

  get(id: string): BacktestJobView | null {
    this.#sweep();
    return this.#jobs.get(id)?.view ?? null;
  }

  /** Resolves when the job's thread has exited (at once for a finished job). */
  async wait(id: string): Promise<BacktestJobView | null> {
    const job = this.#jobs.get(id);
    return job ? job.done : null;
  }

  /** Stops a running job's thread and resolves once it has exited; a finished job stays as it is. */
  async cancel(id: string, why = 'cancelled by request'): Promise<BacktestJobView | null> {
    const job = this.#jobs.get(id);
    if (!job) return null;
    this.#stop(job, 'cancelled', new BacktestJobError('backtest_cancelled', why));
    return job.done;
  }

  /** Stops every thread (the API is closing). */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#jobs.keys()].map((id) => this.cancel(id, 'the API is stopping')));
  }

  #stop(job: Job, status: 'cancelled' | 'failed', error: BacktestJobError): void {
    if (!job.worker || job.stopping) return;
    job.stopping = { status, error };
    void job.worker.terminate();
  }

  /** Forgets finished jobs past their TTL, and the oldest beyond MAX_FINISHED_JOBS. */
  #sweep(): void {
    const now = Date.now();
    const finished = [...this.#jobs.values()].filter((j) => j.view.finishedAt !== null);
    finished.forEach((job, i) => {
      const expired = (job.view.finishedAt as number) + this.ttlMs <= now;
      if (expired || i < finished.length - MAX_FINISHED_JOBS) this.#jobs.delete(job.view.id);
    });
  }
}
