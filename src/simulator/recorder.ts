/**
 * What the lead's workflow asked of the outside world, as its activities saw it: each activity
 * wrapped (the real one still runs) to keep the effect it carried out and what came back. Generic
 * over effect types: whatever activity a new effect gets, its input carries the effect (a value
 * with a `type` and an `at`), so new effects show up in a simulation without a change here.
 */
import type { LeadActivities } from '../activities/index.js';

export interface RecordedEffect {
  /** The workflow's idempotency key: `<workflow id>/<sequence>`; a retry keeps the last outcome. */
  key: string;
  /** The machine's order of its effects. */
  seq: number;
  activity: string;
  effect: { type: string; at: number } & Record<string, unknown>;
  /** What the activity answered (delivered, skipped and why), or its error's message. */
  outcome: unknown;
  failed?: string;
}

function effectIn(input: unknown): RecordedEffect['effect'] | null {
  if (input === null || typeof input !== 'object') return null;
  for (const value of Object.values(input)) {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const v = value as Record<string, unknown>;
      if (typeof v.type === 'string' && typeof v.at === 'number') return v as RecordedEffect['effect'];
    }
  }
  return null;
}

const seqOf = (key: string) => Number(key.slice(key.lastIndexOf('/') + 1));

/**
 * The activity calls in one: a batch of store writes (`recordLeadChanges`, a local activity) carries
 * each change with the activity that would have written it alone; the batch's answer is each one's.
 */
function callsIn(activity: string, input: unknown): Array<{ activity: string; input: unknown }> {
  const changes = (input as { changes?: unknown } | null)?.changes;
  if (!Array.isArray(changes)) return [{ activity, input }];
  return changes.filter((c): c is { activity: string; input: unknown } => typeof c?.activity === 'string');
}

export class EffectRecorder {
  readonly #byKey = new Map<string, RecordedEffect>();

  /** The effects so far, in the machine's order. */
  effects(): RecordedEffect[] {
    return [...this.#byKey.values()].sort((a, b) => a.seq - b.seq);
  }

  /** The same activities, each noting the effect it carries out (journal writes carry none). */
  wrap<A extends LeadActivities>(activities: A): A {
    const wrapped: Record<string, unknown> = {};
    for (const [name, fn] of Object.entries(activities) as Array<
      [string, (input: unknown) => Promise<unknown>]
    >) {
      wrapped[name] = async (input: unknown) => {
        const note = (outcome: unknown, failed?: string) => {
          for (const call of callsIn(name, input)) {
            const effect = effectIn(call.input);
            const key = (call.input as { idempotencyKey?: unknown } | null)?.idempotencyKey;
            if (!effect || typeof key !== 'string') continue;
            this.#byKey.set(key, {
              key,
              seq: seqOf(key),
              activity: call.activity,
              effect,
              outcome,
              ...(failed === undefined ? {} : { failed }),
            });
          }
        };
        try {
          const outcome = await fn(input);
          note(outcome);
          return outcome;
        } catch (err) {
          note(null, err instanceof Error ? err.message : String(err));
          throw err;
        }
      };
    }
    return wrapped as A;
  }
}
