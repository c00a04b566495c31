/**
 * The outbox's retention: records older than LEADCYCLE_OUTBOX_RETENTION_DAYS (default 90) leave the
 * file, at worker start and once a day after, and on `leadcycle outbox prune`. The outbox holds names
 * and addresses; kept forever, it would outlive any reason to hold them.
 *
 * Why pruning keeps idempotency: a key is recorded once its delivery succeeded, and the attempt that
 * recorded it completes right after. A later attempt under that key only comes when the worker died
 * between the record and the completion: Temporal retries it after the activity's start-to-close
 * timeout (1 minute) and a backoff of at most 10 minutes (src/workflows/effects.ts), so within minutes
 * of the record, while the record is still there. A retention of at least a day is far longer. (A
 * worker kept down longer than the retention would resend on its return: the key was pruned.)
 * The email cap counts the emails in the outbox too: keep the retention longer than its window
 * (`emailCap.windowDays`, 30 by default), or older emails stop counting. Dead letters (deliveries
 * that failed for good) older than the retention go with the same prune.
 */
import { DAY_MS } from '../machines/index.js';
import type { Outbox } from './outbox.js';

export interface PruneResult {
  /** Outbox records removed. */
  removed: number;
  /** Dead letters removed (failed for good before the cutoff, never retried). */
  deadLetters: number;
  /** Records recorded before this instant were removed (ISO 8601). */
  before: string;
}

/** Prunes the records recorded more than `days` before `now`. */
export async function pruneOutbox(outbox: Outbox, days: number, now = Date.now()): Promise<PruneResult> {
  const cutoff = now - days * DAY_MS;
  const { removed, deadLetters } = await outbox.prune(cutoff);
  return { removed, deadLetters, before: new Date(cutoff).toISOString() };
}

export interface RetentionOptions {
  days: number;
  log: (line: string) => void;
  now?: () => number;
  /** Default a day. */
  everyMs?: number;
}

/**
 * Prunes now, then every `everyMs`, until stopped. Resolves once the first prune ran. A failed prune
 * is logged, not thrown: it must not stop the worker's deliveries; the next one tries again.
 */
export async function keepOutboxRetention(
  outbox: Outbox,
  options: RetentionOptions,
): Promise<{ stop(): void }> {
  const now = options.now ?? Date.now;
  const prune = async () => {
    try {
      const { removed, deadLetters, before } = await pruneOutbox(outbox, options.days, now());
      if (removed > 0 || deadLetters > 0) {
        options.log(
          `outbox: pruned ${removed} records${deadLetters > 0 ? ` and ${deadLetters} dead letters` : ''} ` +
            `from before ${before} (retention ${options.days} days)`,
        );
      }
    } catch (err) {
      options.log(`outbox: pruning failed, retried in a day: ${(err as Error).message}`);
    }
  };
  await prune();
  const timer = setInterval(prune, options.everyMs ?? DAY_MS);
  // The retention must not keep a stopped worker's process alive.
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
