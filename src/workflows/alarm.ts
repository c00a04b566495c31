import { CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import { timerSummary } from '../codec/operator-text.js';
import type { Deadline } from '../machines/index.js';

/**
 * One durable timer for the earliest deadline, kept while the loop wakes for messages: only an
 * earlier deadline replaces it (with decay ticks on a grid, messages rarely move a deadline; one that
 * moves later lets it ring early once, and the loop then finds nothing due and sets the next).
 * Re-arming on every wake-up cost a TIMER_CANCELED and a TIMER_STARTED per message, and a cancelled
 * scope with its CancelledFailure in the worker.
 */
export class Alarm {
  #armed: { at: number; rang: boolean; scope: CancellationScope } | null = null;
  /** The workflow's own scope: a timer armed in a message handler outlives the handler. */
  readonly #parent = CancellationScope.current();

  /** Whether the timer armed last has rung (one armed in a handler replaces the loop's). */
  get rang(): boolean {
    return this.#armed?.rang ?? false;
  }

  /** Forgets a timer that has rung, so that `rang` speaks of the next one armed. */
  forgetRung(): void {
    if (this.#armed?.rang) this.#armed = null;
  }

  /** Makes sure a timer rings by `next.at`; answers the one that will. */
  arm(next: Deadline): { readonly rang: boolean } {
    const current = this.#armed;
    if (current && !current.rang && current.at <= next.at) return current;
    if (current && !current.rang) current.scope.cancel();
    const scope = new CancellationScope({ cancellable: true, parent: this.#parent });
    const armed = { at: next.at, rang: false, scope };
    scope
      .run(() => sleep(next.at - Date.now(), { summary: timerSummary(next) }))
      .then(
        () => {
          armed.rang = true;
        },
        (err) => {
          if (!isCancellation(err)) throw err;
        },
      );
    this.#armed = armed;
    return armed;
  }
}
