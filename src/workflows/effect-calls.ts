import type {
  HandOffToSalesInput,
  RecordConsentChangeInput,
  RecordStageChangeInput,
  RemindSalesInput,
  SendContentInput,
} from '../activities/index.js';
import { keyAddressOf, type LeadSnapshot, type PendingEffect } from '../machines/index.js';

/** The activity that carries out one effect of the machine, with its input. */
export type EffectCall =
  | { activity: 'recordStageChange'; input: RecordStageChangeInput }
  | { activity: 'recordConsentChange'; input: RecordConsentChangeInput }
  | { activity: 'sendContent'; input: SendContentInput }
  | { activity: 'handOffToSales'; input: HandOffToSalesInput }
  | { activity: 'remindSales'; input: RemindSalesInput };

/**
 * What the workflow asks of its activities for an effect, from the lead as it is now: pure, so the
 * workflow and the tests that carry effects out without Temporal make the same calls. Null when the
 * effect cannot be carried out at all (an email to a lead with no address).
 */
export function effectCall(
  { key, effect }: PendingEffect,
  snapshot: LeadSnapshot,
  workflowId: string,
  /** The lead's email cap, for the activity to check again on real send times. */
  emailCap?: SendContentInput['emailCap'],
): EffectCall | null {
  const { context } = snapshot;
  const base = { idempotencyKey: key, workflowId, leadKey: context.leadKey };
  // An email-keyed lead is mailed at its key address only; a lead known by an external id at its profile's.
  const address = keyAddressOf(context.leadKey) ?? context.profile.email ?? null;
  switch (effect.type) {
    case 'stage.changed':
      return { activity: 'recordStageChange', input: { ...base, change: effect } };
    case 'consent.changed':
      return { activity: 'recordConsentChange', input: { ...base, change: effect, address } };
    case 'content.send': {
      if (!address) return null;
      const { firstName, lastName } = context.profile;
      const consent = { state: snapshot.value.consent, doNotContact: context.consent.doNotContact };
      return {
        activity: 'sendContent',
        input: {
          ...base,
          to: { email: address, firstName, lastName },
          content: effect,
          consent,
          ...(emailCap ? { emailCap } : {}),
        },
      };
    }
    case 'sales.handoff':
    case 'sales.do_not_contact':
      return { activity: 'handOffToSales', input: { ...base, lead: crmLead(snapshot), handoff: effect } };
    case 'sales.stale_reminder':
      return { activity: 'remindSales', input: { ...base, lead: crmLead(snapshot), handoff: effect } };
    default:
      return unreachable(effect);
  }
}

/** The lead as the CRM is told about it, now. */
function crmLead({ context, value }: LeadSnapshot): HandOffToSalesInput['lead'] {
  return {
    profile: context.profile,
    score: context.score,
    fitScore: context.fit.score,
    persona: context.fit.persona,
    temperature: context.temperature,
    buyingStage: context.buyingStage,
    stage: value.lifecycle,
    consent: value.consent,
    doNotContact: context.consent.doNotContact,
  };
}

/** A new kind of effect must get its own activity here, not fall through to another one. */
function unreachable(effect: never): never {
  throw new Error(`no activity carries out ${JSON.stringify(effect)}`);
}
