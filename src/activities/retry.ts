/**
 * Delivering a dead letter again (`leadcycle deliveries retry`): through the same activity, under the
 * same idempotency key, so the checks at delivery apply again and a receiver that saw an earlier
 * attempt can drop the duplicate. The lead's consent is taken as it is now, not as it was queued.
 */
import type { ConsentState } from '../machines/index.js';
import { type DeadLetter, replySummary } from './dead-letters.js';
import { PermanentFailure } from './errors.js';
import type { HandOffToSalesInput, LeadActivities, RemindSalesInput, SendContentInput } from './index.js';
import type { Outbox } from './outbox.js';

/** The lead's consent now, from its workflow; null when it could not be asked. */
export type ConsentNow = { state: ConsentState; doNotContact: boolean } | null;

export interface RetryOutcome {
  key: string;
  kind: DeadLetter['kind'];
  /** delivered; skipped (not to be sent any more: consent, suppression, the cap, done before); failed (kept). */
  outcome: 'delivered' | 'skipped' | 'failed';
  detail: string | null;
}

export async function retryDeadLetter(
  activities: LeadActivities,
  outbox: Outbox,
  letter: DeadLetter,
  consent: ConsentNow,
): Promise<RetryOutcome> {
  const { key, kind } = letter;
  const failed = (detail: string): RetryOutcome => ({ key, kind, outcome: 'failed', detail });
  let result: { delivered: boolean; skipped?: string };
  try {
    if (kind === 'email') {
      // An email without the lead's word on consent now could reach someone who has since said no.
      if (!consent) return failed('the lead could not be asked for its consent: not retried');
      const input = letter.input as unknown as SendContentInput;
      result = await activities.sendContent({ ...input, consent });
    } else {
      const input = letter.input as unknown as HandOffToSalesInput;
      const { type } = input.handoff;
      // Telling the CRM not to call is always right; a handoff or a reminder to call needs the lead's word that it still may.
      if (!consent && type !== 'sales.do_not_contact')
        return failed('the lead could not be asked whether it may be contacted: not retried');
      const lead = consent
        ? { ...input.lead, consent: consent.state, doNotContact: consent.doNotContact }
        : input.lead;
      result =
        type === 'sales.stale_reminder'
          ? await activities.remindSales({
              ...input,
              lead,
              handoff: input.handoff as RemindSalesInput['handoff'],
            })
          : await activities.handOffToSales({ ...input, lead });
    }
  } catch (err) {
    return failed(
      err instanceof PermanentFailure ? replySummary(err) : err instanceof Error ? err.message : String(err),
    );
  }
  await outbox.resolveDeadLetter(key);
  if (result.delivered) return { key, kind, outcome: 'delivered', detail: null };
  return {
    key,
    kind,
    outcome: 'skipped',
    detail: result.skipped ?? 'not handed over (do not contact, or done before)',
  };
}
