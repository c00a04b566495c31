import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import { readStageChanges } from '../../src/analytics/index.js';
import { LeadClient, LeadCommandRejectedError, type LeadRef } from '../../src/client/index.js';
import { DAY_MS, DEFAULT_CONFIG } from '../../src/machines/index.js';
import { BANT_COMPLETE, FIT } from '../support/lead.js';
import { startTimeSkippingEnv } from '../support/temporal.js';
import { eventually, type LeadHarness, leadHarness } from '../support/workflow.js';

/**
 * Lost can come back (issue #14, patch `sales-decides`, config `lostReturnAfterDays`, default 180 days),
 * through the real lead workflow and the real activities (outbox, stage changes) on the time-skipping
 * server: half a year after the loss passes in seconds.
 */
let env: TestWorkflowEnvironment;
let h: LeadHarness;

beforeAll(async () => {
  env = await startTimeSkippingEnv();
  h = await leadHarness(env, { searchAttributes: false }); // the test server has none
});
afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

const demoRequest = { type: 'form.submitted', form: 'demo_request', consent: true, profile: FIT } as const;

/** The sales handoffs the real activities wrote to the CRM outbox for this lead. */
async function handoffsOf(ref: LeadRef) {
  const { leadKey } = LeadClient.keyOf(ref);
  const crm = await readOutbox(h.dataDir, { kind: 'crm', leadKey });
  return crm.filter((r) => (r.payload as { type: string }).type === 'sales.handoff');
}

/** The stage changes the real activities recorded for this lead, once `count` are in. */
async function stageChangesOf(ref: LeadRef, count: number) {
  const { workflowId } = LeadClient.keyOf(ref);
  return eventually(async () => {
    const changes = (await readStageChanges(h.dataDir)).filter((c) => c.leadId === workflowId);
    expect(changes).toHaveLength(count);
    return changes.map((c) => [c.from, c.to, c.cause, c.reason]);
  });
}

describe('lost can come back, in a real workflow', () => {
  it('a lost lead stays lost in its quiet period, and one that asks for a demo after it comes back, straight to MQL', async () => {
    expect(DEFAULT_CONFIG.lostReturnAfterDays).toBe(180);
    const ref: LeadRef = { tenant: `comeback-${Date.now()}`, email: FIT.email };
    await h.run(async () => {
      // A persona-fit lead, engaged up to MQL (no hand-raiser), accepted by sales, sent a proposal.
      await h.client.capture(ref, {
        type: 'form.submitted',
        form: 'content_download',
        consent: true,
        profile: FIT,
      });
      await h.client.send(ref, { type: 'engagement', kind: 'webinar_attended' });
      await h.client.send(ref, { type: 'engagement', kind: 'webinar_attended' });
      await h.client.send(ref, { type: 'engagement', kind: 'pricing_page' });
      const mql = await h.client.send(ref, { type: 'engagement', kind: 'premium_content' });
      expect(mql.stage).toBe('mql');
      await h.client.send(ref, { type: 'bant.updated', bant: BANT_COMPLETE });
      await h.client.send(ref, { type: 'sales.accepted', owner: 'rep-7' });
      expect((await h.client.send(ref, { type: 'proposal.sent', amount: 24_000 })).stage).toBe('opportunity');
      const lost = await h.client.send(ref, { type: 'deal.lost', reason: 'budget' });
      expect(lost).toMatchObject({ stage: 'lost', reason: 'budget' });
      const closedAt = lost.state.context.closed?.at;
      expect(closedAt).toBeTypeOf('number');
      const ends = new Date((closedAt as number) + 180 * DAY_MS).toISOString();
      expect(await handoffsOf(ref)).toHaveLength(1);

      // 30 days later: in the quiet period a demo request changes nothing, and a refusal says when it ends.
      await env.sleep(30 * DAY_MS);
      const quiet = await h.client.send(ref, demoRequest);
      expect(quiet).toMatchObject({ stage: 'lost', owner: 'rep-7' });
      expect(quiet.state.context.closed).not.toBeNull();
      const refused = await h.client.send(ref, { type: 'sales.accepted', owner: 'rep-8' }).catch((e) => e);
      expect(refused).toBeInstanceOf(LeadCommandRejectedError);
      expect(refused.rejection).toMatchObject({ code: 'not_allowed_in_stage', stage: 'lost' });
      expect(refused.message).toBe(
        `sales.accepted is not allowed in stage lost (its quiet period after the loss ends ${ends}: ` +
          'then a hand-raiser, or engagement up to score 50, brings it back)',
      );
      expect(await handoffsOf(ref)).toHaveLength(1);

      // 181 days after the loss: a demo request brings it back, through lead, straight to MQL.
      await env.sleep(151 * DAY_MS);
      const back = await h.client.send(ref, demoRequest);
      expect(back).toMatchObject({ stage: 'mql', owner: null });
      expect(back.state.context.closed).toBeNull();
      const changes = await stageChangesOf(ref, 8);
      // Nothing changed in the quiet period: lost until the demo request after it.
      expect(changes).toEqual([
        [null, 'visitor', 'xstate.init', null],
        ['visitor', 'lead', 'form.submitted', null],
        ['lead', 'mql', 'engagement', null],
        ['mql', 'sql', 'sales.accepted', null],
        ['sql', 'opportunity', 'proposal.sent', null],
        ['opportunity', 'lost', 'deal.lost', 'budget'],
        ['lost', 'lead', 'form.submitted', 'came_back'],
        ['lead', 'mql', 'form.submitted', 'hand_raiser:demo_request'],
      ]);
      const handoffs = await eventually(async () => {
        const found = await handoffsOf(ref);
        expect(found).toHaveLength(2);
        return found;
      });
      expect(handoffs[1]?.payload).toMatchObject({ type: 'sales.handoff', lead: { stage: 'mql' } });
    });
  }, 60_000);
});
