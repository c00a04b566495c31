import type { SearchAttributeUpdatePair } from '@temporalio/common';
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
    const attributes = (owner: string): SearchAttributeUpdatePair[] => [
      { key: LeadSearchAttributes.stage, value: view.stage },
      { key: LeadSearchAttributes.score, value: view.score },
      { key: LeadSearchAttributes.temperature, value: view.temperature },
      { key: LeadSearchAttributes.buyingStage, value: view.buyingStage },
      { key: LeadSearchAttributes.owner, value: owner },
      // Only leads that time ages have it: runs recorded before upsert what they did.
      ...(view.stale !== undefined ? [{ key: LeadSearchAttributes.stale, value: view.stale }] : []),
      // Only leads that run a stored version have one: runs recorded before it upsert as they did.
      ...(typeof view.configVersion === 'number'
        ? [{ key: LeadSearchAttributes.configVersion, value: view.configVersion }]
        : []),
    ];
    // Whether to upsert is decided on the owner as given, as it always was: a run replays the upserts
    // it recorded (Temporal checks that an upsert comes, not its values). What goes out is `ownerAttribute`.
    const given = attributes(view.owner ?? 'marketing');
    const tracked = this.scoreAfterTimersOnly
      ? given.filter((a) => a.key !== LeadSearchAttributes.score)
      : given;
    const key = JSON.stringify(tracked.map((a) => a.value));
    const scoreDue = this.scoreAfterTimersOnly && afterTimer && view.score !== this.#publishedScore;
    if ((key !== this.#lastAttributes || scoreDue) && this.searchAttributes) {
      upsertSearchAttributes(attributes(ownerAttribute(view.owner)));
      this.#publishedScore = view.score;
    }
    this.#lastAttributes = key;
    // Details are not a history event: refreshing them after every change costs nothing durable.
    setCurrentDetails(detailsOf(view));
  }
}

/** An owner id as CRMs give them (`rep-7`, `005Hs00000A1b2C`, `12345678`): no space, no `@`. */
const OWNER_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;

/**
 * What `LeadOwner` says: `marketing` until sales accepts, then the owner's id, so operators can list
 * one rep's leads. Search attributes are not encrypted: an owner given as anything else (a name, an
 * email address) is published as `sales`; the lead's own state (encrypted) keeps it as given.
 */
export function ownerAttribute(owner: string | null): string {
  if (owner === null) return 'marketing';
  return OWNER_ID.test(owner) ? owner : 'sales';
}
