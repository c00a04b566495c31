/**
 * Plays a journey against a lead workflow on a running server: each event sent at its day offset
 * (the clock lets the time in between pass), then the clock runs on to the end, and the lead is
 * left to finish what it was doing. The same code runs on the time-skipping server (the simulator)
 * and on a real one with a fast clock (the test that the two agree).
 */
import type { Client } from '@temporalio/client';
import {
  LeadClient,
  LeadCommandRejectedError,
  LeadNotFoundError,
  type LeadRef,
  LeadValidationError,
} from '../client/index.js';
import { DAY_MS, type LeadcycleConfigInput } from '../machines/index.js';
import type { SimClock } from './clock.js';
import { DEFAULT_SIMULATED_LEAD, type JourneyEvent } from './journey.js';
import type { EffectRecorder } from './recorder.js';
import { buildResult, type SimulatedEvent, type SimulationResult } from './result.js';
import type { Sandbox } from './sandbox.js';

export interface PlayOptions {
  temporal: Client;
  taskQueue: string;
  clock: SimClock;
  sandbox: Sandbox;
  recorder: EffectRecorder;
  events: JourneyEvent[];
  days: number;
  name?: string | null;
  lead?: LeadRef;
  config?: LeadcycleConfigInput;
  /** How long a simulated day is on this clock (a day; a fast clock's few hundred ms). */
  dayMs?: number;
  /** Off on the time-skipping server, which cannot register them. */
  searchAttributes?: boolean;
}

function describe(err: unknown): string | null {
  if (err instanceof LeadCommandRejectedError) return err.rejection.message;
  if (err instanceof LeadValidationError) return err.message;
  if (err instanceof LeadNotFoundError)
    return 'no lead yet: a fact needs a command (a visit, a form) before it';
  return null;
}

export async function playJourney(options: PlayOptions): Promise<SimulationResult> {
  const { clock, events, days } = options;
  const dayMs = options.dayMs ?? DAY_MS;
  const started = Date.now();
  const client = new LeadClient(options.temporal, {
    taskQueue: options.taskQueue,
    config: options.config ?? {},
    searchAttributes: options.searchAttributes ?? false,
    leadIds: options.sandbox.ids,
  });
  const ref = options.lead ?? DEFAULT_SIMULATED_LEAD;
  const { leadKey, workflowId } = LeadClient.keyOf(ref, options.sandbox.ids);
  const start = await clock.now();
  const until = async (at: number) => clock.sleep(at - (await clock.now()));

  const played: SimulatedEvent[] = [];
  for (const event of events) {
    await until(start + event.day * dayMs);
    const kind = event.command ? 'command' : 'fact';
    const type = (event.command ?? event.fact)?.type ?? '';
    const base = { day: event.day, kind, type, ...(event.note ? { note: event.note } : {}) } as const;
    try {
      if (event.command) {
        const view = await client.capture(ref, event.command);
        played.push({ ...base, outcome: 'applied', stage: view.stage });
      } else if (event.fact) {
        await client.track(ref, event.fact);
        played.push({ ...base, outcome: 'signalled' });
      }
    } catch (err) {
      const refusal = describe(err);
      if (refusal === null) throw err;
      played.push({ ...base, outcome: 'refused', refusal });
    }
  }
  await until(start + days * dayMs);
  const final = await settle(options.temporal, client, ref, workflowId);
  return buildResult({
    name: options.name ?? null,
    leadKey,
    days,
    start,
    dayMs,
    durationMs: Date.now() - started,
    events: played,
    recorded: options.recorder.effects(),
    final,
  });
}

/** The lead as it ends, once the activities it started have finished (so their outcomes are in). */
async function settle(temporal: Client, client: LeadClient, ref: LeadRef, workflowId: string) {
  const handle = temporal.workflow.getHandle(workflowId);
  for (let i = 0; i < 100; i++) {
    const { raw } = await handle.describe();
    if ((raw.pendingActivities ?? []).length === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return client.get(ref);
}
