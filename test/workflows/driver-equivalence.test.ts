import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { LeadActivities } from '../../src/activities/index.js';
import { replayLead } from '../../src/analytics/index.js';
import { LeadClient, LeadCommandRejectedError, type LeadRef } from '../../src/client/index.js';
import {
  createLeadCycle,
  DAY_MS,
  type Effect,
  HOUR_MS,
  type JournalItem,
  type LeadCommandInput,
  LeadDriver,
  type LeadFact,
  type PendingEffect,
} from '../../src/machines/index.js';
import { createLeadWorker } from '../../src/worker.js';
import { BANT_COMPLETE, FIT } from '../support/lead.js';
import { startTimeSkippingEnv } from '../support/temporal.js';

/**
 * The backtest and the workflow run one lead driver: random journeys driven through a real workflow
 * on the time-skipping server, then through the driver from the journal the workflow wrote (as the
 * backtest replays it), give the same effects, with the same keys, contents and times.
 */
const item = (family: string, n: number) => ({
  id: `${family}-${n}`,
  title: `${family} ${n}`,
  url: `https://example.com/${family}/${n}`,
});
const CONFIG = {
  nurtureCadenceDays: 3,
  salesSlaHours: 30,
  renurtureCooldownDays: 20,
  content: {
    discovery: Array.from({ length: 8 }, (_, i) => item('discovery', i + 1)),
    evaluation: Array.from({ length: 8 }, (_, i) => item('evaluation', i + 1)),
    decision: Array.from({ length: 8 }, (_, i) => item('decision', i + 1)),
    newsletter: Array.from({ length: 8 }, (_, i) => item('newsletter', i + 1)),
  },
};

/** What the workflow's activities were asked to do, by idempotency key. */
class Recorder {
  readonly effects = new Map<string, Map<string, Effect>>();
  readonly journals = new Map<string, { createdAt: number; entries: JournalItem[] }>();

  activities(): LeadActivities {
    const keep = (workflowId: string, key: string, effect: Effect) => {
      const byKey = this.effects.get(workflowId) ?? new Map<string, Effect>();
      byKey.set(key, effect); // a retry sets the same key again
      this.effects.set(workflowId, byKey);
    };
    const activities: LeadActivities = {
      recordStageChange: async (input) => {
        keep(input.workflowId, input.idempotencyKey, input.change);
        return { recorded: true };
      },
      recordConsentChange: async (input) => {
        keep(input.workflowId, input.idempotencyKey, input.change);
        return { recorded: true };
      },
      sendContent: async (input) => {
        keep(input.workflowId, input.idempotencyKey, input.content);
        return { delivered: true, messageId: input.idempotencyKey };
      },
      handOffToSales: async (input) => {
        keep(input.workflowId, input.idempotencyKey, input.handoff);
        return { delivered: true };
      },
      remindSales: async (input) => {
        keep(input.workflowId, input.idempotencyKey, input.handoff);
        return { delivered: true };
      },
      recordJournal: async (input) => {
        const journal = this.journals.get(input.workflowId) ?? { createdAt: input.createdAt, entries: [] };
        for (const entry of input.entries) {
          if (!journal.entries.some((e) => e.seq === entry.seq)) journal.entries.push(entry);
        }
        this.journals.set(input.workflowId, journal);
        return { recorded: input.entries.length };
      },
      // The store writes of leads started since cheap starts, in one local activity: each as its own.
      recordLeadChanges: async ({ changes, journal }) => {
        for (const change of changes)
          keep(change.input.workflowId, change.input.idempotencyKey, change.input.change);
        if (journal) await activities.recordJournal(journal);
        return {
          recorded: changes.length + (journal?.entries.length ?? 0),
          changes: changes.map(({ activity, input }) => ({ activity, change: input.change })),
        };
      },
    };
    return activities;
  }
}

const seqOf = (key: string) => Number(key.slice(key.lastIndexOf('/') + 1));

type Step = { afterHours: number } & ({ command: LeadCommandInput } | { fact: LeadFact });

const commandArb: fc.Arbitrary<LeadCommandInput> = fc.oneof(
  fc.constantFrom<LeadCommandInput[]>(
    { type: 'engagement', kind: 'pricing_page' },
    { type: 'engagement', kind: 'demo_request' },
    { type: 'engagement', kind: 'webinar_attended' },
    { type: 'engagement', kind: 'content_download', contentStage: 'decision' },
    { type: 'bant.updated', bant: BANT_COMPLETE },
    { type: 'bant.updated', bant: { need: true } },
    { type: 'sales.accepted', owner: 'sam' },
    { type: 'sales.rejected', reason: 'not_ready' },
    { type: 'proposal.sent', amount: 12_000 },
    { type: 'deal.won', amount: 12_000 },
    { type: 'deal.lost', reason: 'timing' },
    { type: 'deal.lost', reason: 'budget' },
    { type: 'consent.unsubscribed', doNotContact: false },
    { type: 'consent.subscribed' },
    { type: 'disqualify', reason: 'competitor' },
  ),
  fc.constant<LeadCommandInput>({
    type: 'form.submitted',
    form: 'demo_request',
    consent: true,
    profile: FIT,
  }),
);
const factArb: fc.Arbitrary<LeadFact> = fc.constantFrom<LeadFact[]>(
  { type: 'visit', page: '/blog', channel: 'web' },
  { type: 'engagement', kind: 'email_click' },
);
const stepArb: fc.Arbitrary<Step> = fc
  .record({
    afterHours: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 7, max: 24 * 25 })),
    message: fc.oneof(
      { weight: 3, arbitrary: commandArb.map((command) => ({ command })) },
      factArb.map((fact) => ({ fact })),
    ),
  })
  .map(({ afterHours, message }) => ({ afterHours, ...message }));
const journeyArb = fc.record({
  consent: fc.boolean(),
  steps: fc.array(stepArb, { minLength: 3, maxLength: 16 }),
});
const JOURNEYS = fc.sample(journeyArb, { numRuns: 10, seed: 20261201 });

let env: TestWorkflowEnvironment;
let worker: Worker;
let running: Promise<void>;
let client: LeadClient;
const recorder = new Recorder();

beforeAll(async () => {
  env = await startTimeSkippingEnv();
  const taskQueue = `driver-equivalence-${process.pid}`;
  worker = await createLeadWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    activities: recorder.activities(),
    workflowBundle: { codePath: inject('workflowBundlePath') },
  });
  running = worker.run();
  client = new LeadClient(env.client, { taskQueue, config: CONFIG, searchAttributes: false });
});
afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
  await env?.teardown();
});

/**
 * Drives one journey through the workflow; answers, for each message the lead accepted (the capture
 * first), the server time before it was sent: the workflow stamped it at that time or later.
 */
async function drive(ref: LeadRef, journey: (typeof JOURNEYS)[number]): Promise<number[]> {
  const accepted = [await env.currentTimeMs()];
  await client.capture(ref, {
    type: 'form.submitted',
    form: 'content_download',
    consent: journey.consent,
    profile: FIT,
  });
  for (const step of journey.steps) {
    await env.sleep(step.afterHours * HOUR_MS);
    const sentAfter = await env.currentTimeMs();
    try {
      // Facts (visits, engagement) are taken in every stage; a command may be refused.
      if ('fact' in step) await client.track(ref, step.fact);
      else await client.send(ref, step.command);
      accepted.push(sentAfter);
    } catch (err) {
      if (!(err instanceof LeadCommandRejectedError)) throw err;
    }
  }
  // Long enough for the deadlines due after the last step, and for a timer to write the journal.
  await env.sleep(40 * DAY_MS);
  return accepted;
}

describe('one lead driver: the workflow and the backtest', () => {
  it.each(JOURNEYS.map((journey, i) => [i, journey] as const))(
    'journey %i gives the same effects at the same times through the workflow and the driver',
    async (i, journey) => {
      const ref: LeadRef = { tenant: `equivalence-${i}`, email: FIT.email };
      const { workflowId, leadKey } = LeadClient.keyOf(ref);
      const accepted = await drive(ref, journey);
      // Effects of the last instant may still be on their way: compare up to a day before the end.
      const horizon = (await env.currentTimeMs()) - DAY_MS;

      const journal = recorder.journals.get(workflowId);
      expect(journal).toBeDefined();
      const { createdAt, entries } = journal as { createdAt: number; entries: JournalItem[] };
      const events = entries.sort((a, b) => a.seq - b.seq).map((e) => e.event);
      // Events still waiting for the journal's next batch cannot be replayed: compare up to the first.
      const unjournaled = accepted[events.length];
      const until = unjournaled === undefined ? horizon : Math.min(horizon, unjournaled - 1);

      const driver = LeadDriver.start(
        createLeadCycle(CONFIG),
        { leadKey, at: createdAt },
        { id: workflowId, atDeadlines: true },
      );
      const replayed: PendingEffect[] = [];
      for (const event of events) {
        if (event.at > until) break;
        expect(driver.offer(event)).toBeNull();
      }
      driver.feedDue(until);
      replayed.push(...driver.pending);

      const recorded = [...(recorder.effects.get(workflowId) ?? new Map()).entries()]
        .map(([key, effect]) => ({ key, effect }))
        .filter(({ effect }) => effect.at <= until)
        .sort((a, b) => seqOf(a.key) - seqOf(b.key));
      expect(recorded.length).toBeGreaterThan(1);
      expect(replayed).toEqual(recorded);

      // The backtest's own replay of the same journal records the same stage changes.
      const backtest = replayLead(createLeadCycle(CONFIG), { leadId: workflowId, createdAt }, events, until);
      const stageChanges = recorded.filter(({ effect }) => effect.type === 'stage.changed');
      expect(backtest.changes.map((c) => ({ key: c.key, at: c.at, to: c.to }))).toEqual(
        stageChanges.map(({ key, effect }) => ({ key, at: effect.at, to: (effect as { to: string }).to })),
      );
    },
  );
});
