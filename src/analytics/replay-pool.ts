/**
 * A backtest's replays spread over worker threads: each lead replays alone (its own driver, from its
 * own journal), so batches of leads can go to any thread and their counts add up to what one thread
 * counts (test/analytics/replay-pool.test.ts). The thread that reads the journal hands out batches
 * and keeps at most two per thread in flight, so a 100,000-lead journal is never all in memory.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { LeadcycleError } from '../errors.js';
import type { BacktestScenario, BatchReplayer, JournaledLeadEvents, TallyCounts } from './backtest.js';
import type { ReplayAnswer, ReplayRequest, ReplayThreadInput } from './replay-thread.js';
import { startThread, threadModule } from './threads.js';

/** A replay thread failed: `cause` names the thread's error (its code when it was a LeadcycleError). */
export class ReplayPoolError extends LeadcycleError<'replay_failed' | 'replay_thread_exited'> {}

const THREAD_MODULE = threadModule('replay-thread');
const IN_FLIGHT_PER_THREAD = 2;
/** Leads per batch posted to a thread: large enough to amortise a message, small enough to spread. */
export const REPLAY_BATCH = 250;

/** From this many leads a backtest spreads its replays over threads by default (Analytics.backtest). */
export const POOLED_FROM_LEADS = 5_000;

/** One thread per core by default: the replay is CPU-bound. */
export const defaultReplayThreads = (): number => availableParallelism();

interface Pending {
  thread: number;
  done: (counts: TallyCounts[]) => void;
}

export class ReplayPool implements BatchReplayer {
  readonly batchSize = REPLAY_BATCH;
  readonly #threads: Worker[];
  readonly #inFlight: number[];
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;
  #failure: ReplayPoolError | null = null;
  /** Woken whenever a batch finishes or a thread fails. */
  #wake: (() => void) | null = null;

  constructor(scenarios: BacktestScenario[], until: number, options: { threads?: number } = {}) {
    const count = Math.max(1, options.threads ?? defaultReplayThreads());
    const input: ReplayThreadInput = { scenarios, until };
    this.#threads = Array.from({ length: count }, (_, i) => {
      const thread = startThread(THREAD_MODULE, input);
      thread.on('message', (answer: ReplayAnswer) => this.#answered(answer));
      thread.on('error', (err) => this.#fail(new ReplayPoolError('replay_failed', err.message)));
      thread.on('exit', (code) => {
        if (this.#inFlight[i] !== 0)
          this.#fail(new ReplayPoolError('replay_thread_exited', `a replay thread exited with ${code}`));
      });
      return thread;
    });
    this.#inFlight = this.#threads.map(() => 0);
  }

  async submit(leads: JournaledLeadEvents[], done: (counts: TallyCounts[]) => void): Promise<void> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      const least = this.#inFlight.indexOf(Math.min(...this.#inFlight));
      if ((this.#inFlight[least] ?? 0) < IN_FLIGHT_PER_THREAD) {
        const id = this.#nextId++;
        this.#pending.set(id, { thread: least, done });
        this.#inFlight[least] = (this.#inFlight[least] ?? 0) + 1;
        this.#threads[least]?.postMessage({ id, leads } satisfies ReplayRequest);
        return;
      }
      await this.#next();
    }
  }

  async drain(): Promise<void> {
    while (this.#pending.size > 0) {
      if (this.#failure) throw this.#failure;
      await this.#next();
    }
    if (this.#failure) throw this.#failure;
  }

  async close(): Promise<void> {
    this.#pending.clear();
    this.#inFlight.fill(0);
    await Promise.all(this.#threads.map((t) => t.terminate()));
  }

  #next(): Promise<void> {
    return new Promise((resolve) => {
      this.#wake = resolve;
    });
  }

  #notify() {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #answered(answer: ReplayAnswer) {
    const pending = this.#pending.get(answer.id);
    if (!pending) return;
    this.#pending.delete(answer.id);
    this.#inFlight[pending.thread] = (this.#inFlight[pending.thread] ?? 1) - 1;
    if (answer.ok) pending.done(answer.counts);
    else {
      const { name, code, message } = answer.error;
      this.#fail(new ReplayPoolError('replay_failed', `${name}${code ? ` (${code})` : ''}: ${message}`));
    }
    this.#notify();
  }

  #fail(error: ReplayPoolError) {
    this.#failure ??= error;
    this.#notify();
  }
}

/** What `backtest(…, { replayer })` takes: a pool of `threads` threads for the backtest's scenarios. */
export const replayPool =
  (threads?: number) =>
  (scenarios: BacktestScenario[], until: number): BatchReplayer =>
    new ReplayPool(scenarios, until, threads === undefined ? {} : { threads });
