import { WithStartWorkflowOperation, type WorkflowHandle } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { countEventTypes } from '../../bench/lib/event-types.js';
import { LeadClient } from '../../src/client/index.js';
import type { leadWorkflow } from '../../src/workflows/lead-workflow.js';
import { commandUpdate, LEAD_WORKFLOW_TYPE, type LeadWorkflowInput } from '../../src/workflows/messages.js';
import { devServerLeads } from '../support/workflow.js';

/**
 * What a new lead's first minute costs in history (issue #16): a lead captured as an app captures
 * it, counted once nothing is pending (it then sleeps until its next deadline). The real dev server
 * and worker, with the Lead* search attributes on.
 */
const t = devServerLeads();

const unique = () => `t${Date.now()}${Math.floor(Math.random() * 1e6)}`;
/** A form with consent from a profile that fits no persona: the first nurture email goes out at once. */
const form = (email: string) =>
  ({
    type: 'form.submitted',
    form: 'content_download',
    consent: true,
    profile: { email, companySize: 3, sector: 'education', jobFunction: 'student' },
  }) as const;

async function firstMinuteOver(handle: WorkflowHandle): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const d = await handle.describe();
    if ((d.raw.pendingActivities?.length ?? 0) === 0 && d.raw.pendingWorkflowTask == null) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${handle.workflowId}: still busy after 30 s`);
}

/** The history once the first minute is over, by event type, with its markers and upserted attribute names. */
async function firstMinute(handle: WorkflowHandle) {
  await firstMinuteOver(handle);
  const events = (await handle.fetchHistory()).events ?? [];
  return {
    length: events.length,
    types: countEventTypes(events),
    markers: events.flatMap((e) => e.markerRecordedEventAttributes?.markerName ?? []),
    upserted: events.flatMap((e) =>
      Object.keys(e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields ?? {}),
    ),
  };
}

describe("a new lead's first minute", () => {
  it('costs 15 history events and 2 workflow tasks, without a patch marker or a TemporalChangeVersion upsert', {
    timeout: 60_000,
  }, async () => {
    const ref = { tenant: unique(), email: 'ada@school.example' };
    const seen = await t.h.run(async () => {
      const view = await t.h.client.capture(ref, form(ref.email));
      expect(view.stage).toBe('lead');
      return firstMinute(t.env.client.workflow.getHandle(LeadClient.keyOf(ref).workflowId));
    });
    expect(seen.types).toEqual({
      WORKFLOW_EXECUTION_STARTED: 1,
      WORKFLOW_TASK_SCHEDULED: 2,
      WORKFLOW_TASK_STARTED: 2,
      WORKFLOW_TASK_COMPLETED: 2,
      WORKFLOW_EXECUTION_UPDATE_ACCEPTED: 1,
      WORKFLOW_EXECUTION_UPDATE_COMPLETED: 1,
      // The store writes, as one local activity.
      MARKER_RECORDED: 1,
      // The Lead* search attributes, once.
      UPSERT_WORKFLOW_SEARCH_ATTRIBUTES: 1,
      // The first nurture email.
      ACTIVITY_TASK_SCHEDULED: 1,
      ACTIVITY_TASK_STARTED: 1,
      ACTIVITY_TASK_COMPLETED: 1,
      // The next deadline.
      TIMER_STARTED: 1,
    });
    expect(seen.length).toBe(15);
    expect(seen.markers).toEqual(['core_local_activity']);
    expect(seen.upserted).not.toContain('TemporalChangeVersion');
    expect(seen.upserted).toContain('LeadStage');
  });

  it('costs 14 history events without the Lead* search attributes, and no upsert at all', {
    timeout: 60_000,
  }, async () => {
    const ref = { tenant: unique(), email: 'alan@school.example' };
    const app = new LeadClient(t.env.client, { taskQueue: t.h.taskQueue, searchAttributes: false });
    const seen = await t.h.run(async () => {
      await app.capture(ref, form(ref.email));
      return firstMinute(t.env.client.workflow.getHandle(LeadClient.keyOf(ref).workflowId));
    });
    expect(seen.length).toBe(14);
    expect(seen.types.WORKFLOW_TASK_COMPLETED).toBe(2);
    expect(seen.types.UPSERT_WORKFLOW_SEARCH_ATTRIBUTES).toBeUndefined();
    expect(seen.markers).toEqual(['core_local_activity']);
  });

  it('a lead started without declaring its rules (a client of the release before) asks the patch as before: 17 events', {
    timeout: 60_000,
  }, async () => {
    const ref = { tenant: unique(), email: 'grace@school.example' };
    const { workflowId, leadKey } = LeadClient.keyOf(ref);
    // What LeadClient.capture sent before startedUnder.
    const input: LeadWorkflowInput = { leadKey, searchAttributes: true };
    const seen = await t.h.run(async () => {
      await t.env.client.workflow.executeUpdateWithStart(commandUpdate, {
        args: [form(ref.email)],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof leadWorkflow>(LEAD_WORKFLOW_TYPE, {
          workflowId,
          taskQueue: t.h.taskQueue,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
      return firstMinute(t.env.client.workflow.getHandle(workflowId));
    });
    expect(seen.length).toBe(17);
    expect(seen.types.WORKFLOW_TASK_COMPLETED).toBe(2);
    expect(seen.markers.sort()).toEqual(['core_local_activity', 'core_patch']);
    expect(seen.upserted).toContain('TemporalChangeVersion');
  });
});
