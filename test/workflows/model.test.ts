import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeadClient, LeadCommandRejectedError, type LeadRef } from '../../src/client/index.js';
import {
  type ImportCommandInput,
  type LeadCommandInput,
  type LeadEvent,
  type LeadSnapshot,
  type MergeCommand,
  MergeCommandSchema,
  TIMER_EVENT_TYPES,
} from '../../src/machines/index.js';
import type { leadWorkflow } from '../../src/workflows/lead-workflow.js';
import { LEAD_WORKFLOW_TYPE, mergeUpdate } from '../../src/workflows/messages.js';
import { LEAD_INPUT, leadModel, modelCycle, retime } from '../support/model.js';
import { startTimeSkippingEnv } from '../support/temporal.js';
import { type LeadHarness, leadHarness } from '../support/workflow.js';

/**
 * The machine's generated paths, driven through a real lead workflow: commands as updates, timer
 * events by letting the workflow's own timers fire on the time-skipping server. After every step
 * the workflow's stage and consent equal the pure machine's.
 */
const TIMERS = new Set<string>(TIMER_EVENT_TYPES);

// One shortest path to each (stage, consent) pair the machine can reach.
const paths = [
  ...new Map(
    leadModel
      .getShortestPaths({ allowDuplicatePaths: true })
      .sort((a, b) => a.steps.length - b.steps.length)
      .reverse()
      .map((p) => [JSON.stringify((p.state as LeadSnapshot).value), p] as const),
  ).values(),
];

let env: TestWorkflowEnvironment;
let h: LeadHarness;

beforeAll(async () => {
  env = await startTimeSkippingEnv();
  h = await leadHarness(env, { config: modelCycle.config, searchAttributes: false }); // the test server has none
});
afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

/** The merge's internal events go through the workflow's own `merge` update, as `LeadClient.merge` sends them. */
const MERGE_EVENTS = new Set<string>(MergeCommandSchema.options.map((o) => o.shape.type.value));
function merge(ref: LeadRef, command: MergeCommand) {
  const { leadKey, workflowId } = LeadClient.keyOf(ref);
  const startWorkflowOperation = new WithStartWorkflowOperation<typeof leadWorkflow>(LEAD_WORKFLOW_TYPE, {
    workflowId,
    taskQueue: h.taskQueue,
    args: [{ leadKey, config: modelCycle.config, searchAttributes: false }],
    workflowIdConflictPolicy: 'USE_EXISTING',
  });
  return env.client.workflow.executeUpdateWithStart(mergeUpdate, { args: [command], startWorkflowOperation });
}

describe('model-based: generated paths through a real workflow', () => {
  it('covers every stage and consent state the machine reaches', () => {
    expect(paths.length).toBeGreaterThanOrEqual(20);
  });

  it.each(paths.map((p) => [p.steps.map((s) => s.event.type).join(' → '), p] as const))(
    '%s',
    async (_, path) => {
      const ref: LeadRef = { tenant: `model-${Date.now()}-${Math.random()}`, externalId: 'lead-1' };
      let pure = modelCycle.start(LEAD_INPUT).snapshot;
      let origin: number | null = null; // workflow time that stands for LEAD_INPUT.at
      let started = false;

      await h.run(async () => {
        for (const step of path.steps.slice(1)) {
          const event = retime(step.event as LeadEvent, pure);
          const decision = modelCycle.apply(pure, event);
          origin ??= (await env.currentTimeMs()) - (event.at - LEAD_INPUT.at);
          const wait = origin + (event.at - LEAD_INPUT.at) - (await env.currentTimeMs());
          if (TIMERS.has(event.type)) {
            // The workflow's own timer for this deadline fires while time passes.
            expect(decision.ok, `the model takes ${event.type}`).toBe(true);
            await env.sleep(Math.max(0, wait) + 60_000);
          } else {
            if (wait > 0) await env.sleep(wait);
            const { at: _at, ...command } = event;
            const sent = MERGE_EVENTS.has(event.type)
              ? merge(ref, command as MergeCommand)
              : event.type === 'lead.imported'
                ? h.client.importContact(ref, command as ImportCommandInput)
                : started
                  ? h.client.send(ref, command as LeadCommandInput)
                  : h.client.capture(ref, command as LeadCommandInput);
            const outcome = await sent.then(() => 'accepted' as const).catch((e) => e);
            started = true;
            if (decision.ok) expect(outcome).toBe('accepted');
            else if (MERGE_EVENTS.has(event.type)) expect(outcome).toBeInstanceOf(WorkflowUpdateFailedError);
            else expect(outcome).toBeInstanceOf(LeadCommandRejectedError);
          }
          if (decision.ok) pure = decision.snapshot;
          const view = await h.client.get(ref);
          expect({ stage: view.stage, consent: view.consent }, `after ${event.type}`).toEqual({
            stage: pure.value.lifecycle,
            consent: pure.value.consent,
          });
        }
      });
    },
  );
});
