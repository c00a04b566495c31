import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import { LeadClient, type LeadRef } from '../../src/client/index.js';
import { CONTENT_FAMILY_FOR_STAGE, DAY_MS, type Effect, HOUR_MS } from '../../src/machines/index.js';
import { recordHistories } from '../support/histories.js';
import { BANT_COMPLETE, capturedLead, FIT } from '../support/lead.js';
import { startTimeSkippingEnv } from '../support/temporal.js';
import { type LeadHarness, leadHarness } from '../support/workflow.js';

/**
 * Long timers on the time-skipping server: months of nurture, SLAs and cooldowns pass in seconds.
 * This file has its own test server (its clock is global); the tests run one after another.
 */
const item = (family: string, n: number) => ({
  id: `${family}-${n}`,
  title: `${family} ${n}`,
  url: `https://example.com/${family}/${n}`,
});
const many = (family: string) => Array.from({ length: 40 }, (_, i) => item(family, i + 1));
const CONFIG = {
  nurtureCadenceDays: 2, // faster than the cap allows, so the cap must defer sends
  content: {
    discovery: many('discovery'),
    evaluation: many('evaluation'),
    decision: many('decision'),
    newsletter: many('newsletter'),
  },
};

let env: TestWorkflowEnvironment;
let h: LeadHarness;
let n = 0;

beforeAll(async () => {
  env = await startTimeSkippingEnv();
  h = await leadHarness(env, { config: CONFIG, searchAttributes: false }); // the test server has none
});
afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

const newRef = (): LeadRef => ({ tenant: `timers-${Date.now()}-${++n}`, email: FIT.email });
const capture = (ref: LeadRef) =>
  h.client.capture(ref, { type: 'form.submitted', form: 'content_download', consent: true, profile: FIT });

async function emailsOf(ref: LeadRef) {
  const { leadKey } = LeadClient.keyOf(ref);
  const records = await readOutbox(h.dataDir, { kind: 'email', leadKey });
  return records.map((r) => (r.payload as { content: Extract<Effect, { type: 'content.send' }> }).content);
}

async function handoffsOf(ref: LeadRef) {
  const { leadKey } = LeadClient.keyOf(ref);
  const records = await readOutbox(h.dataDir, { kind: 'crm', leadKey });
  return records.map((r) => (r.payload as { handoff: Extract<Effect, { type: 'sales.handoff' }> }).handoff);
}

describe('durable timers on the time-skipping server', () => {
  it('a lead nurtured for 180 days never gets more than 3 emails in any 30 days, and only content of its buying stage', async () => {
    const ref = newRef();
    await h.run(async () => {
      const start = (await capture(ref)).state.context.createdAt;
      await env.sleep(60 * DAY_MS);
      const changedAt = await env.currentTimeMs();
      await h.client.send(ref, { type: 'bant.updated', bant: { need: true } }); // now considering: evaluation content
      // Half a day short of 180: no send is due near the end, so both sides see the same sends.
      await env.sleep(119.5 * DAY_MS);
      const emails = await emailsOf(ref);

      for (const email of emails) {
        const inWindow = emails.filter((o) => o.at <= email.at && o.at > email.at - 30 * DAY_MS);
        expect(inWindow.length).toBeLessThanOrEqual(3);
        expect(email.family).toBe(CONTENT_FAMILY_FOR_STAGE[email.buyingStage]);
      }
      expect(new Set(emails.map((e) => e.item.id)).size).toBe(emails.length);

      // Deferred, never dropped: the same schedule in the pure machine sends the same items.
      const pure = capturedLead(CONFIG);
      pure.runTimersUntil(pure.now + (changedAt - start));
      pure.send({ type: 'bant.updated', bant: { need: true } });
      pure.runTimersUntil(pure.now + 119.5 * DAY_MS);
      expect(emails.map((e) => e.item.id)).toEqual(pure.sent().map((e) => e.item.id));
      expect(emails.length).toBeGreaterThanOrEqual(17);
      expect(emails.some((e) => e.family === 'evaluation')).toBe(true);
      await recordHistories(env.client, LeadClient.keyOf(ref).workflowId, 'nurture-180-days');
    });
  });

  it('a sales SLA that expires escalates once, then returns the lead to nurture with a reason', async () => {
    const ref = newRef();
    await h.run(async () => {
      await capture(ref);
      await h.client.send(ref, { type: 'engagement', kind: 'demo_request' });
      await h.client.send(ref, { type: 'engagement', kind: 'webinar_attended' });
      const mql = await h.client.send(ref, { type: 'engagement', kind: 'pricing_page' });
      expect(mql.stage).toBe('mql');

      await env.sleep(48 * HOUR_MS + 60_000);
      expect((await h.client.get(ref)).stage).toBe('mql');
      expect((await handoffsOf(ref)).map((x) => x.escalation)).toEqual([false, true]);

      await env.sleep(48 * HOUR_MS + 60_000);
      const back = await h.client.get(ref);
      expect(back.stage).toBe('recycled');
      expect(back.state.context.recycle?.reason).toBe('sales_sla_expired');
      await recordHistories(env.client, LeadClient.keyOf(ref).workflowId, 'sales-sla-expired');
    });
  });

  it('a lead that waits on no timer gets one from a message its handler settles, and the loop wakes for it', async () => {
    const ref = newRef();
    await h.run(async () => {
      // Imported without consent or points: nothing to send, nothing to decay, so no timer.
      const imported = await h.client.importContact(ref, {
        type: 'lead.imported',
        tool: 'hubspot',
        stage: 'lead',
        profile: FIT,
      });
      expect(imported.score).toBe(0);
      // A page view leaves the loop nothing to carry out: settled in the handler, which arms the decay tick.
      const engaged = await h.client.send(ref, { type: 'engagement', kind: 'page_view' });
      expect(engaged.score).toBeGreaterThan(0);
      await env.sleep(60 * DAY_MS);
      const later = await h.client.get(ref);
      expect(later.stage).toBe('lead');
      expect(later.score).toBeLessThan(engaged.score);
    });
  });

  it('a deal lost for timing re-nurtures and, after the cooldown, can qualify again', async () => {
    const ref = newRef();
    await h.run(async () => {
      await capture(ref);
      await h.client.send(ref, { type: 'engagement', kind: 'demo_request' });
      await h.client.send(ref, { type: 'engagement', kind: 'webinar_attended' });
      await h.client.send(ref, { type: 'engagement', kind: 'pricing_page' });
      await h.client.send(ref, { type: 'bant.updated', bant: BANT_COMPLETE });
      await h.client.send(ref, { type: 'sales.accepted', owner: 'rep-2' });
      await h.client.send(ref, { type: 'proposal.sent' });
      expect((await h.client.send(ref, { type: 'deal.lost', reason: 'timing' })).stage).toBe('recycled');

      await env.sleep(89 * DAY_MS);
      expect((await h.client.get(ref)).stage).toBe('recycled');
      await env.sleep(2 * DAY_MS);
      expect((await h.client.get(ref)).stage).toBe('lead');

      await h.client.send(ref, { type: 'engagement', kind: 'demo_request' });
      const again = await h.client.send(ref, { type: 'engagement', kind: 'quote_request' });
      expect(again.stage).toBe('mql');
      await recordHistories(env.client, LeadClient.keyOf(ref).workflowId, 'timing-loss-renurture');
    });
  });
});
