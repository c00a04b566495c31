import { describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import { readStageChanges } from '../../src/analytics/index.js';
import { LeadClient, LeadCommandRejectedError } from '../../src/client/index.js';
import { BANT_COMPLETE, FIT } from '../support/lead.js';
import { devServerLeads, eventually } from '../support/workflow.js';

/**
 * Sales decides (issue #14, patch `sales-decides`), through a real lead workflow on the dev server with
 * the real activities (outbox, stage changes): one worker for the file.
 */
const t = devServerLeads();

const unique = () => `t${Date.now()}${Math.floor(Math.random() * 1e6)}`;
/** The persona-fit CIO of a 2,000-person company of the issue. */
const CIO = { ...FIT, companySize: 2000, jobTitle: 'CIO' };
const formOf = (email: string, form: 'demo_request' | 'content_download') =>
  ({ type: 'form.submitted', form, consent: true, profile: { ...CIO, email } }) as const;

async function stageChangesOf(workflowId: string, count: number) {
  return eventually(async () => {
    const changes = (await readStageChanges(t.h.dataDir)).filter((c) => c.leadId === workflowId);
    expect(changes).toHaveLength(count);
    return changes.map((c) => [c.from, c.to, c.cause, c.reason]);
  });
}

describe('sales decides in a lead workflow', () => {
  it('a persona-fit CIO who submits the demo form is an MQL and handed off once, at score 30', async () => {
    const ref = { tenant: unique(), email: 'cio@big.example' };
    await t.h.run(async () => {
      const view = await t.h.client.capture(ref, formOf(ref.email, 'demo_request'));
      expect(view).toMatchObject({ stage: 'mql', score: 30, fitScore: 100 });
      const { workflowId, leadKey } = LeadClient.keyOf(ref);
      expect(await stageChangesOf(workflowId, 3)).toEqual([
        [null, 'visitor', 'xstate.init', null],
        ['visitor', 'lead', 'form.submitted', null],
        ['lead', 'mql', 'form.submitted', 'hand_raiser:demo_request'],
      ]);
      const handoffs = await eventually(async () => {
        const found = await readOutbox(t.h.dataDir, { kind: 'crm', leadKey });
        expect(found).toHaveLength(1);
        return found;
      });
      expect(handoffs[0]?.payload).toMatchObject({ type: 'sales.handoff', lead: { stage: 'mql' } });
    });
  });

  it('sales accepting a BANT-complete lead before MQL is a sales override, recorded as such', async () => {
    const ref = { tenant: unique(), email: 'override@big.example' };
    await t.h.run(async () => {
      await t.h.client.capture(ref, formOf(ref.email, 'content_download'));
      await t.h.client.send(ref, { type: 'bant.updated', bant: BANT_COMPLETE });
      expect((await t.h.client.get(ref)).stage).toBe('lead');
      const accepted = await t.h.client.send(ref, { type: 'sales.accepted', owner: 'rep-7' });
      expect(accepted).toMatchObject({ stage: 'sql', owner: 'rep-7' });
      const { workflowId } = LeadClient.keyOf(ref);
      expect((await stageChangesOf(workflowId, 3)).at(-1)).toEqual([
        'lead',
        'sql',
        'sales.accepted',
        'sales_override',
      ]);
    });
  });

  it('a refusal names the failing guard and the numbers the stage waits for', async () => {
    const ref = { tenant: unique(), email: 'numbers@big.example' };
    await t.h.run(async () => {
      await t.h.client.capture(ref, formOf(ref.email, 'content_download'));
      const error = await t.h.client.send(ref, { type: 'deal.won' }).catch((e) => e);
      expect(error).toBeInstanceOf(LeadCommandRejectedError);
      expect(error.rejection).toMatchObject({ code: 'not_allowed_in_stage', stage: 'lead' });
      expect(error.message).toBe(
        'deal.won is not allowed in stage lead (engagement score 5 of 50 and persona fit 100% of 75% for MQL)',
      );
      expect((await t.h.client.get(ref)).stage).toBe('lead');
    });
  });
});
