import { ActivityFailure, ApplicationFailure, log, proxyActivities } from '@temporalio/workflow';
import type { LeadActivities } from '../activities/index.js';
import { type JournalItem, keyAddressOf, type LeadSnapshot, type PendingEffect } from '../machines/index.js';

const { recordStageChange, recordConsentChange, recordJournal, sendContent, handOffToSales } =
  proxyActivities<LeadActivities>({
    startToCloseTimeout: '1 minute',
    // Effects must happen: retry transient failures for as long as it takes; permanent ones are
    // raised as non-retryable by the activity itself.
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes' },
  });

/** A failure an activity raised as permanent (or one retries gave up on): logged, and the lead moves on. */
const isPermanent = (err: unknown): err is ActivityFailure | ApplicationFailure =>
  err instanceof ActivityFailure || err instanceof ApplicationFailure;

/** Carries out one effect of the machine as its activity; answers whether it recorded a stage change. */
export async function carryOut(
  { key, effect }: PendingEffect,
  snapshot: LeadSnapshot,
  workflowId: string,
): Promise<boolean> {
  const { context } = snapshot;
  const base = { idempotencyKey: key, workflowId, leadKey: context.leadKey };
  // An email-keyed lead is mailed at its key address only; a lead known by an external id at its profile's.
  const address = keyAddressOf(context.leadKey) ?? context.profile.email ?? null;
  try {
    if (effect.type === 'stage.changed') {
      await recordStageChange({ ...base, change: effect });
      return true;
    }
    if (effect.type === 'consent.changed') {
      await recordConsentChange({ ...base, change: effect, address });
      return false;
    }
    if (effect.type === 'content.send') {
      if (!address) throw ApplicationFailure.nonRetryable('the lead has no email address');
      const { firstName, lastName } = context.profile;
      await sendContent({ ...base, to: { email: address, firstName, lastName }, content: effect });
    } else {
      await handOffToSales({
        ...base,
        lead: {
          profile: context.profile,
          score: context.score,
          fitScore: context.fit.score,
          persona: context.fit.persona,
          temperature: context.temperature,
          buyingStage: context.buyingStage,
          stage: snapshot.value.lifecycle,
          consent: snapshot.value.consent,
          doNotContact: context.consent.doNotContact,
        },
        handoff: effect,
      });
    }
  } catch (err) {
    if (!isPermanent(err)) throw err;
    log.error('effect failed permanently', {
      effect: effect.type,
      key,
      error: err.cause?.message ?? err.message,
    });
  }
  return false;
}

/** Writes one batch of the journal; a batch refused for good is logged and dropped. */
export async function writeJournal(
  batch: JournalItem[],
  snapshot: LeadSnapshot,
  workflowId: string,
): Promise<void> {
  const { leadKey, createdAt } = snapshot.context;
  try {
    await recordJournal({ workflowId, leadKey, createdAt, entries: batch });
  } catch (err) {
    if (!isPermanent(err)) throw err;
    log.error('journal batch dropped', { events: batch.length, error: err.cause?.message ?? err.message });
  }
}
