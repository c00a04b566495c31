import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import type {
  DriverCarry,
  ImportCommand,
  LeadCommand,
  LeadcycleConfigInput,
  LeadFact,
  LeadView,
  MergeCommand,
} from '../machines/index.js';

export type { JournalItem, PendingEffect } from '../machines/index.js';

/** Message definitions shared by the workflow and its clients. */

/** An app's command: applied if the machine allows it, refused before it reaches history if not. */
export const commandUpdate = defineUpdate<LeadView, [LeadCommand]>('command');

/** The merge's internal events (absorb the other record, close as merged): only `LeadClient.merge` sends them. */
export const mergeUpdate = defineUpdate<LeadView, [MergeCommand]>('merge');

/** A contact imported from another tool with its history (src/import/): only `LeadClient.importContact` sends it. */
export const importUpdate = defineUpdate<LeadView, [ImportCommand]>('import');

/** High-volume facts that need no answer (page views, email opens): no update budget spent. */
export const factSignal = defineSignal<[LeadFact]>('fact');

export const stateQuery = defineQuery<LeadView>('state');

/**
 * A config version rolled out to a running lead (`leadcycle config apply`, `POST /v1/config/versions`).
 * The config is checked by the workflow's validator as a whole config (a bad one is refused, field
 * by field); the version is monotonic (src/config-versions.ts), and an older one than the lead runs
 * is refused, so two rollouts that overlap end on the newer one.
 */
export const ConfigRolloutSchema = z
  .object({
    version: z.number().int().positive(),
    config: z.record(z.string(), z.unknown()),
  })
  .strict();
export type ConfigRollout = { version: number; config: LeadcycleConfigInput };

/** Rolls a config version out to the lead: it carries on under it (same state), deadlines recomputed. */
export const configUpdate = defineUpdate<LeadView, [ConfigRollout]>('config');

export const LEAD_WORKFLOW_TYPE = 'leadWorkflow';

/**
 * The patch of leads started since cheap starts: every rule of the patches before it on, and store
 * writes as local activities. New leads declare it in their input (`startedUnder`), so their first
 * workflow task asks no patch: each patched() call of a new run costs a marker and a
 * TemporalChangeVersion upsert.
 */
export const CHEAP_STARTS = 'cheap-starts';

/**
 * The patch of leads started since quiet messages: the cheap-starts rules, and a message that leaves
 * nothing for the loop to carry out (no effect, no journal batch, no continue-as-new, no deadline
 * due now) is settled in its handler (search attributes, the timer), so the loop sleeps on. Waking
 * the loop for it cost the worker a new condition and its promises (each with a stack trace the SDK
 * captures) per message.
 */
export const QUIET_MESSAGES = 'quiet-messages';

/**
 * The patch that takes marketing labels of any script and common punctuation in a fact signal
 * (src/machines/touch.ts), where labels were ASCII letters, digits, spaces and `_ - . : / +`. A
 * signal is recorded whatever it holds and such a fact was ignored, so a fact only the wide labels
 * take asks it (a marker for that fact only). Commands need none: a validator's refusal writes no
 * history, and every label taken before is taken now.
 */
export const WIDE_LABELS = 'wide-labels';

/** What every new start declares (LeadClient, and continue-as-new keeps what its run declared). */
export const STARTED_UNDER = QUIET_MESSAGES;

/** ApplicationFailure types the workflow raises, which the client turns back into typed errors. */
export const FAILURE = {
  invalidCommand: 'InvalidCommand',
  rejected: 'CommandRejected',
  /** An update id the previous run applied already: its details hold the lead as it is now. */
  alreadyApplied: 'AlreadyApplied',
  /** A config version older than the one the lead runs: its details hold the lead as it is now. */
  staleConfig: 'StaleConfig',
} as const;

export interface LeadWorkflowInput {
  leadKey: string;
  config?: LeadcycleConfigInput;
  /**
   * The version of `config` in the config store (src/config-versions.ts), when it came from there;
   * set by the `config` update for the next run. Absent: a lead started from LEADCYCLE_CONFIG.
   */
  configVersion?: number;
  /**
   * Keep the Lead* search attributes current (default). Off only for servers where they cannot be
   * registered, such as the time-skipping test server: leads are then not listable by stage.
   */
  searchAttributes?: boolean;
  /** Lower thresholds for continue-as-new than the defaults (CONTINUE_AS_NEW_AT), e.g. to test it. */
  continueAsNewAt?: { historyLength?: number; updates?: number };
  /** Set by continue-as-new: the lead so far, the effects not yet carried out, the journal not yet written. */
  carried?: DriverCarry;
  /**
   * Set by continue-as-new: the update ids the last runs applied. Temporal deduplicates update ids
   * per run only; with these a retry that straddles a run change is not applied twice.
   */
  updateIds?: string[];
  /**
   * The rules the lead starts under, declared by whoever starts it (every LeadClient start, and
   * continue-as-new): the run takes them without asking patched(CHEAP_STARTS), so no marker. Absent
   * in runs started before the declaration, which ask as they did; CHEAP_STARTS in runs started
   * before QUIET_MESSAGES, which keep waking their loop for every message.
   */
  startedUnder?: typeof CHEAP_STARTS | typeof QUIET_MESSAGES;
}
