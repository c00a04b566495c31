import { describe, expect, it } from 'vitest';
import { LeadClient, type LeadRef } from '../../src/client/index.js';
import { BANT_COMPLETE, FIT } from '../support/lead.js';
import { devServerLeads, eventually } from '../support/workflow.js';

/** On the dev server (search attributes registered): operators find stale leads with `LeadStale = true`. */
const t = devServerLeads({ config: { staleAfterDays: 2 / 86_400 } }); // stale after 2 seconds

describe('stale leads are filterable', () => {
  it('a stale SQL is found by LeadStale = true', async () => {
    const ref: LeadRef = { tenant: `stale-${Date.now()}`, email: FIT.email };
    await t.h.run(async () => {
      await t.h.client.capture(ref, {
        type: 'form.submitted',
        form: 'demo_request',
        consent: true,
        profile: FIT,
      });
      await t.h.client.send(ref, { type: 'engagement', kind: 'webinar_attended' });
      await t.h.client.send(ref, { type: 'engagement', kind: 'pricing_page' });
      await t.h.client.send(ref, { type: 'bant.updated', bant: BANT_COMPLETE });
      await t.h.client.send(ref, { type: 'sales.accepted', owner: 'rep-5' });
      const { workflowId } = LeadClient.keyOf(ref);
      const found = await eventually(async () => {
        const ids: string[] = [];
        for await (const wf of t.env.client.workflow.list({
          query: `LeadStale = true AND WorkflowId = '${workflowId}'`,
        }))
          ids.push(wf.workflowId);
        expect(ids).toEqual([workflowId]);
        return ids;
      }, 20_000);
      expect(found).toHaveLength(1);
    });
  }, 60_000);
});
