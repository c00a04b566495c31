import { setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { detailsOf } from '../codec/operator-text.js';
import type { LeadView } from '../machines/index.js';
import { LeadSearchAttributes } from '../temporal/search-attributes.js';

/**
 * What operators see of a lead in the Temporal UI: search attributes (to filter leads) and the
 * current details (what it waits for). Never personal data: search attributes are not encrypted, and
 * the details are built from operator words only, which the codec leaves readable (operator-text.ts).
 */
export class OperatorView {
  #lastAttributes = '';
  #publishedScore: number | null = null;

  constructor(
    /** Off where Lead* attributes cannot be registered (the time-skipping test server). */
    private readonly searchAttributes: boolean,
    /**
     * The score moves with every engagement, and each upsert is a history event and a visibility
     * write: it is published with the other attributes' changes and after timer events (at least
     * every decay tick), not after every message. Off for runs recorded before that.
     */
    private readonly scoreAfterTimersOnly: boolean,
  ) {}

  publish(view: LeadView, afterTimer: boolean): void {
    const attributes: Parameters<typeof upsertSearchAttributes>[0] = [
      { key: LeadSearchAttributes.stage, value: view.stage },
      { key: LeadSearchAttributes.score, value: view.score },
      { key: LeadSearchAttributes.temperature, value: view.temperature },
      { key: LeadSearchAttributes.buyingStage, value: view.buyingStage },
      { key: LeadSearchAttributes.owner, value: view.owner ?? 'marketing' },
      // Only leads that time ages have it: runs recorded before upsert what they did.
      ...(view.stale !== undefined ? [{ key: LeadSearchAttributes.stale, value: view.stale }] : []),
      // Only leads that run a stored version have one: runs recorded before it upsert as they did.
      ...(typeof view.configVersion === 'number'
        ? [{ key: LeadSearchAttributes.configVersion, value: view.configVersion }]
        : []),
    ];
    const tracked = this.scoreAfterTimersOnly
      ? attributes.filter((a) => a.key !== LeadSearchAttributes.score)
      : attributes;
    const key = JSON.stringify(tracked.map((a) => a.value));
    const scoreDue = this.scoreAfterTimersOnly && afterTimer && view.score !== this.#publishedScore;
    if ((key !== this.#lastAttributes || scoreDue) && this.searchAttributes) {
      upsertSearchAttributes(attributes);
      this.#publishedScore = view.score;
    }
    this.#lastAttributes = key;
    // Details are not a history event: refreshing them after every change costs nothing durable.
    setCurrentDetails(detailsOf(view));
  }
}
