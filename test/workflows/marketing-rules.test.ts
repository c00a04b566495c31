import { describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import { readStageChanges } from '../../src/analytics/index.js';
import { LeadClient, LeadValidationError } from '../../src/client/index.js';
import type { LeadcycleConfigInput } from '../../src/machines/index.js';
import { FIT } from '../support/lead.js';
import { devServerLeads, eventually } from '../support/workflow.js';

/**
 * Rules marketing-ops keep in config, through a real lead workflow on the dev server with the real
 * activities (outbox, stage changes): one worker for the file.
 */
const t = devServerLeads();

const unique = () => `t${Date.now()}${Math.floor(Math.random() * 1e6)}`;
const RULES: LeadcycleConfigInput = {
  profileRules: { competitorDomains: ['rival.com'], disqualifyingJobFunctions: ['student'] },
};
const demo = (email: string, profile: Record<string, unknown> = {}) =>
  ({
    type: 'form.submitted',
    form: 'demo_request',
    consent: true,
    profile: { ...FIT, email, ...profile },
  }) as const;

describe('marketing rules in a lead workflow', () => {
  it('a competitor is disqualified, not handed off to sales', async () => {
    const client = new LeadClient(t.env.client, { taskQueue: t.h.taskQueue, config: RULES });
    const tenant = unique();
    const rival = { tenant, email: 'spy@rival.com' };
    const buyer = { tenant, email: 'ada@acme.example' };
    await t.h.run(async () => {
      for (const ref of [rival, buyer]) {
        await client.capture(ref, demo(ref.email));
        await client.send(ref, { type: 'engagement', kind: 'webinar_attended' });
        await client.track(ref, { type: 'visit', channel: 'web', page: '/pricing' });
      }
      const closed = await client.get(rival);
      expect(closed.stage).toBe('disqualified');
      expect(closed.state.context.closed).toMatchObject({ reason: 'competitor', note: 'domain rival.com' });

      // The buyer's handoff shows the CRM port works; the competitor's stage changes are all written.
      const buyerKey = LeadClient.keyOf(buyer).leadKey;
      await eventually(async () => {
        expect((await client.get(buyer)).stage).toBe('mql');
        expect(await readOutbox(t.h.dataDir, { kind: 'crm', leadKey: buyerKey })).toHaveLength(1);
      });
      const { leadKey, workflowId } = LeadClient.keyOf(rival);
      await eventually(async () => {
        const changes = (await readStageChanges(t.h.dataDir)).filter((c) => c.leadId === workflowId);
        expect(changes.map((c) => [c.to, c.cause, c.reason])).toEqual([
          ['visitor', 'xstate.init', null],
          ['disqualified', 'form.submitted', 'competitor'],
        ]);
      });
      expect(await readOutbox(t.h.dataDir, { kind: 'crm', leadKey })).toEqual([]);
      // A closed competitor gets no nurture either.
      expect(await readOutbox(t.h.dataDir, { kind: 'email', leadKey })).toEqual([]);
    });
  });

  it('a free-mail address is never made an MQL: nurtured, never handed to sales', async () => {
    const ref = { tenant: unique(), email: 'ada@gmail.com' };
    await t.h.run(async () => {
      await t.h.client.capture(ref, demo(ref.email));
      await t.h.client.send(ref, { type: 'engagement', kind: 'webinar_attended' });
      const view = await t.h.client.send(ref, { type: 'engagement', kind: 'pricing_page' });
      expect(view).toMatchObject({ stage: 'lead', fitScore: 100 });
      expect(view.score).toBeGreaterThanOrEqual(50);
      const { leadKey } = LeadClient.keyOf(ref);
      // The first nurture goes out on capture; no handoff.
      await eventually(async () => {
        expect((await readOutbox(t.h.dataDir, { kind: 'email', leadKey })).length).toBeGreaterThanOrEqual(1);
      });
      expect(await readOutbox(t.h.dataDir, { kind: 'crm', leadKey })).toEqual([]);
    });
  });

  it('a student job function is disqualified as a student', async () => {
    const client = new LeadClient(t.env.client, { taskQueue: t.h.taskQueue, config: RULES });
    const ref = { tenant: unique(), email: 'sam@uni.example' };
    await t.h.run(async () => {
      await client.capture(ref, {
        type: 'form.submitted',
        form: 'webinar',
        consent: false,
        profile: { email: ref.email },
      });
      const view = await client.send(ref, { type: 'profile.updated', profile: { jobFunction: 'Student' } });
      expect(view.stage).toBe('disqualified');
      expect(view.state.context.closed).toMatchObject({ reason: 'student', note: 'job function student' });
    });
  });

  it('a /pricing visit scores as the pricing page', async () => {
    const ref = { tenant: unique(), email: 'pat@acme.example' };
    await t.h.run(async () => {
      await t.h.client.capture(ref, { type: 'visit', channel: 'web', page: '/pricing?plan=team' });
      const view = await t.h.client.get(ref);
      expect(view).toMatchObject({ stage: 'visitor', score: 10, buyingStage: 'decision' });
    });
  });

  it('a page rule that is not a path is refused by the client, naming the field', () => {
    const error = (() => {
      try {
        return new LeadClient(t.env.client, {
          config: { pageRules: [{ pattern: 'pricing', kind: 'pricing_page' }] },
        });
      } catch (err) {
        return err;
      }
    })();
    expect(error).toBeInstanceOf(LeadValidationError);
    expect((error as LeadValidationError).issues[0]?.path).toEqual(['pageRules', '0', 'pattern']);
  });
});
