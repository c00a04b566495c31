import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeadClient } from '../../src/client/index.js';
import { FIT } from '../support/lead.js';
import { eventually } from '../support/workflow.js';
import { API_KEY, type ApiStack, startApiStack, unique } from './support.js';

/**
 * "Why, at a glance" (issue #14): a lead's timeline, read from its workflow histories on the dev
 * server, through the HTTP API and its tenant scopes.
 */
const TENANT = `tl${Date.now()}`;
const OTHER = `${TENANT}-other`;
const TENANT_KEY = 'timeline-tenant-key-0123456789';
const OTHER_KEY = 'timeline-other-key-0123456789';

let api: ApiStack;
beforeAll(async () => {
  api = await startApiStack({ apiKeys: [API_KEY, `${TENANT}:${TENANT_KEY}`, `${OTHER}:${OTHER_KEY}`] });
}, 60_000);
afterAll(async () => api?.close());

describe('timeline through a real workflow', () => {
  it('lists stage changes, emails, handoffs and consent changes in order, across continue-as-new, for its tenant only', async () => {
    const email = `${unique()}@acme.example`;
    const ref = { tenant: TENANT, email };
    // Small runs: the lead continues as new on the way, so the timeline reads a chain of runs.
    const client = new LeadClient(api.h.client.temporal, {
      taskQueue: api.h.taskQueue,
      continueAsNewAt: { historyLength: 40, updates: 3 },
    });
    await api.h.run(async () => {
      await client.capture(ref, {
        type: 'form.submitted',
        form: 'content_download',
        consent: true,
        profile: { ...FIT, email },
      });
      await client.send(ref, { type: 'engagement', kind: 'demo_request' });
      await client.send(ref, { type: 'engagement', kind: 'webinar_attended' });
      const mql = await client.send(ref, { type: 'engagement', kind: 'pricing_page' });
      expect(mql.stage).toBe('mql');
      await client.send(ref, { type: 'consent.unsubscribed', source: 'link' });
      await client.send(ref, { type: 'consent.subscribed', source: 'form' });
      const closed = await client.send(ref, { type: 'disqualify', reason: 'competitor', note: 'rival' });
      expect(closed).toMatchObject({ stage: 'disqualified', reason: 'competitor' });
    });
    const { workflowId } = LeadClient.keyOf(ref);

    const timeline = await eventually(async () => {
      const answer = await api.call('GET', `/v1/leads/${workflowId}/timeline`);
      expect(answer.status).toBe(200);
      expect(answer.json.entries.at(-1)).toMatchObject({ kind: 'stage', to: 'disqualified' });
      // The run continues as new once its effects are carried out.
      expect(answer.json.runs).toBeGreaterThan(1);
      return answer.json;
    });
    expect(timeline.leadId).toBe(workflowId);
    expect(timeline.complete).toBe(true);
    const summary = timeline.entries.map((e: Record<string, unknown>) => {
      switch (e.kind) {
        case 'stage':
          return `stage ${e.from}->${e.to} (${e.cause}${e.reason ? `: ${e.reason}` : ''})`;
        case 'email':
          return `email ${e.email} ${e.outcome}`;
        case 'handoff':
          return `handoff ${e.type}`;
        case 'consent':
          return `consent ${e.consent} (${e.source})`;
        default:
          return String(e.kind);
      }
    });
    expect(summary).toEqual([
      'stage null->visitor (xstate.init)',
      'consent granted (form)',
      'stage visitor->lead (form.submitted)',
      'email nurture sent',
      'stage lead->mql (engagement: hand_raiser:demo_request)',
      'handoff sales.handoff',
      'consent withdrawn (link)',
      'consent granted (form)',
      'stage mql->disqualified (disqualify: competitor)',
    ]);
    const sent = timeline.entries.find((e: { kind: string }) => e.kind === 'email');
    expect(sent).toMatchObject({ family: expect.any(String), item: { id: expect.any(String) } });
    // No address: an email names its content, a handoff its scores, a consent change its source.
    expect(JSON.stringify(timeline)).not.toContain(email);
    // Times in order.
    const times = timeline.entries.map((e: { at: string }) => Date.parse(e.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);

    // The lead's own tenant's key reads it; another tenant's key gets what a missing lead gets.
    const own = await api.call('GET', `/v1/leads/${workflowId}/timeline`, {
      headers: { authorization: `Bearer ${TENANT_KEY}` },
    });
    expect(own.status).toBe(200);
    const other = await api.call('GET', `/v1/leads/${workflowId}/timeline`, {
      headers: { authorization: `Bearer ${OTHER_KEY}` },
    });
    expect(other.status).toBe(404);
    const none = await api.call('GET', `/v1/leads/lead-${'0'.repeat(32)}/timeline`);
    expect(none.status).toBe(404);
  });
});
