import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import { LeadClient, type LeadRef } from '../../src/client/index.js';
import { DAY_MS } from '../../src/machines/index.js';
import { BANT_COMPLETE, FIT } from '../support/lead.js';
import { startTimeSkippingEnv } from '../support/temporal.js';
import { type LeadHarness, leadHarness } from '../support/workflow.js';

/** Time ages leads, through the real workflow on the time-skipping server: weeks pass in seconds. */
const CONFIG = { staleAfterDays: 14, coolAfterSilentDays: 20 };

let env: TestWorkflowEnvironment;
let h: LeadHarness;

beforeAll(async () => {
  env = await startTimeSkippingEnv();
  h = await leadHarness(env, { config: CONFIG, searchAttributes: false }); // the test server has none
});
afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

describe('time ages leads in a real workflow', () => {
  it('a silent SQL cools and is flagged stale', async () => {
    const ref: LeadRef = { tenant: `aging-${Date.now()}`, email: FIT.email };
    await h.run(async () => {
      await h.client.capture(ref, {
        type: 'form.submitted',
        form: 'demo_request',
        consent: true,
        profile: FIT,
      });
      await h.client.send(ref, { type: 'engagement', kind: 'webinar_attended' });
      await h.client.send(ref, { type: 'engagement', kind: 'pricing_page' });
      await h.client.send(ref, { type: 'bant.updated', bant: BANT_COMPLETE });
      const sql = await h.client.send(ref, { type: 'sales.accepted', owner: 'rep-3' });
      expect(sql).toMatchObject({ stage: 'sql', temperature: 'hot', stale: false });

      await env.sleep(30 * DAY_MS);
      const silent = await h.client.get(ref);
      expect(silent).toMatchObject({ stage: 'sql', temperature: 'cold', stale: true });

      const { leadKey } = LeadClient.keyOf(ref);
      const crm = await readOutbox(h.dataDir, { kind: 'crm', leadKey });
      const reminders = crm.filter((r) => (r.payload as { type: string }).type === 'sales.stale_reminder');
      expect(reminders).toHaveLength(1);
      expect(reminders[0]?.payload).toMatchObject({
        handoff: { owner: 'rep-3', stage: 'sql', quietDays: 14 },
      });

      // Sales comes back: no longer stale.
      const worked = await h.client.send(ref, { type: 'bant.updated', bant: { timelineMonths: 2 } });
      expect(worked).toMatchObject({ stale: false, temperature: 'hot' });
    });
  }, 120_000);
});
