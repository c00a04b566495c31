import {
  ActivityFailure,
  ApplicationFailure,
  log,
  proxyActivities,
  proxyLocalActivities,
} from '@temporalio/workflow';
import type { LeadActivities, RecordLeadChangesInput } from '../activities/index.js';
import type { JournalItem, LeadSnapshot, PendingEffect } from '../machines/index.js';
import { type EffectCall, effectCall } from './effect-calls.js';

const { recordStageChange, recordConsentChange, recordJournal, sendContent, handOffToSales, remindSales } =
  proxyActivities<LeadActivities>({
    startToCloseTimeout: '1 minute',
    // Effects must happen: retry transient failures for as long as it takes; permanent ones are
    // raised as non-retryable by the activity itself.
    retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes' },
  });

/**
 * Store writes are local and idempotent by key: a local activity runs them in the worker within the
 * workflow task, for one marker in history instead of a scheduled, started and completed activity and
 * a workflow task of their own. The same retry policy: a store that is down is waited for.
 */
const { recordLeadChanges } = proxyLocalActivities<LeadActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

/** A failure an activity raised as permanent (or one retries gave up on): logged, and the lead moves on. */
const isPermanent = (err: unknown): err is ActivityFailure | ApplicationFailure =>
  err instanceof ActivityFailure || err instanceof ApplicationFailure;

/** Carries out one effect of the machine as its activity; answers whether it recorded a stage change. */
export async function carryOut(
  pending: PendingEffect,
  snapshot: LeadSnapshot,
  workflowId: string,
  emailCap?: { max: number; windowDays: number },
): Promise<boolean> {
  const call = effectCall(pending, snapshot, workflowId, emailCap);
  if (!call) {
    log.error('effect failed permanently', {
      effect: pending.effect.type,
      key: pending.key,
      error: 'the lead has no email address',
    });
    return false;
  }
  try {
    await run(call);
    return call.activity === 'recordStageChange';
  } catch (err) {
    if (!isPermanent(err)) throw err;
    log.error('effect failed permanently', {
      effect: pending.effect.type,
      key: pending.key,
      error: err.cause?.message ?? err.message,
    });
    return false;
  }
}

function run(call: EffectCall): Promise<unknown> {
  switch (call.activity) {
    case 'recordStageChange':
      return recordStageChange(call.input);
    case 'recordConsentChange':
      return recordConsentChange(call.input);
    case 'sendContent':
      return sendContent(call.input);
    case 'handOffToSales':
      return handOffToSales(call.input);
    case 'remindSales':
      return remindSales(call.input);
  }
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

/** The effects a local activity carries out: store writes (the rest reach other systems). */
export const isStoreWrite = (pending: PendingEffect): boolean =>
  pending.effect.type === 'stage.changed' || pending.effect.type === 'consent.changed';

/**
 * Carries out store-write effects and the journal batch due with them as one local activity;
 * answers whether it recorded a stage change. A batch refused for good is logged and dropped.
 */
export async function recordLocally(
  pending: PendingEffect[],
  journal: JournalItem[] | null,
  snapshot: LeadSnapshot,
  workflowId: string,
): Promise<boolean> {
  const changes = pending.flatMap((p) => {
    const call = effectCall(p, snapshot, workflowId);
    return call?.activity === 'recordStageChange' || call?.activity === 'recordConsentChange' ? [call] : [];
  });
  const { leadKey, createdAt } = snapshot.context;
  const input: RecordLeadChangesInput = {
    changes,
    journal: journal ? { workflowId, leadKey, createdAt, entries: journal } : null,
  };
  try {
    await recordLeadChanges(input);
    return changes.some((c) => c.activity === 'recordStageChange');
  } catch (err) {
    if (!isPermanent(err)) throw err;
    log.error('store writes failed permanently', {
      effects: pending.map((p) => p.key),
      journal: journal?.length ?? 0,
      error: err.cause?.message ?? err.message,
    });
    return false;
  }
}
