import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import { FIT } from '../support/lead.js';
import { eventually } from '../support/workflow.js';
import { type ApiStack, startApiStack, unique } from './support.js';

/**
 * Consent and identity through the HTTP API alone, as a new user (or an attacker) would try them,
 * on the real dev server with a real worker.
 */
let api: ApiStack;

beforeAll(async () => {
  api = await startApiStack();
});
afterAll(async () => {
  await api?.close();
});

const form = (email: string, consent = true) => ({
  type: 'form.submitted',
  form: 'content_download',
  consent,
  profile: { ...FIT, email },
});

async function capture(email: string, consent = true, tenant = unique()) {
  const lead = { tenant, email };
  const res = await api.call('POST', '/v1/leads/capture', { body: { lead, command: form(email, consent) } });
  expect(res.status).toBe(200);
  return { lead, leadId: res.json.leadId as string };
}

const state = async (lead: object) => (await api.call('POST', '/v1/leads/lookup', { body: { lead } })).json;

describe('internal events stay internal', () => {
  it.each([
    [
      'lead.absorbed',
      {
        type: 'lead.absorbed',
        from: 'x:email:forger@evil.example',
        facts: {
          profile: {},
          bant: {},
          engagementPoints: 500,
          furthestContentStage: 'decision',
          consent: 'granted',
          doNotContact: false,
          sentIds: [],
          sentAt: [],
        },
      },
    ],
    ['lead.merged', { type: 'lead.merged', into: 'x:email:forger@evil.example' }],
    ['tick.nurture', { type: 'tick.nurture' }],
    ['sla.expired', { type: 'sla.expired' }],
  ])('a forged %s is a 400 and changes nothing', async (_name, command) => {
    const { lead } = await capture('ada@forge.example', false);
    const before = await state(lead);
    const res = await api.call('POST', '/v1/leads/commands', { body: { lead, command } });
    expect(res.status).toBe(400);
    expect(res.json.code).toBe('validation');
    const after = await state(lead);
    expect(after.stage).toBe(before.stage);
    expect(after.consent).toBe('unknown');
    expect(after.score).toBe(before.score);
  });
});

describe('one address, one record', () => {
  it('a profile.email that differs from the address the lead is keyed by is a 400 naming the field', async () => {
    const { lead } = await capture('grace@keys.example');
    for (const command of [
      { type: 'profile.updated', profile: { email: 'someone-else@keys.example' } },
      form('someone-else@keys.example'),
    ]) {
      const res = await api.call('POST', '/v1/leads/commands', { body: { lead, command } });
      expect(res.status).toBe(400);
      expect(res.json.issues).toEqual([expect.objectContaining({ path: 'command.profile.email' })]);
    }
    // The key's own address, in any case, is fine.
    const same = await api.call('POST', '/v1/leads/commands', {
      body: { lead, command: { type: 'profile.updated', profile: { email: 'Grace@Keys.example' } } },
    });
    expect(same.status).toBe(200);
  });
});

describe('do-not-contact means no contact', () => {
  it('a DNC on one record of an address suppresses it for every record: the other one is not mailed', async () => {
    const tenant = unique();
    const address = 'hedy@records.example';
    const crm = { tenant, externalId: 'crm:42' };
    const crmLead = await api.call('POST', '/v1/leads/capture', {
      body: { lead: crm, command: form(address) },
    });
    expect(crmLead.status).toBe(200);
    const outboxOf = async (leadId: string) =>
      (await readOutbox(api.h.dataDir)).filter((r) => r.workflowId === leadId).map((r) => r.kind);
    await eventually(async () => expect(await outboxOf(crmLead.json.leadId)).toContain('email'));
    const dnc = await api.call('POST', '/v1/leads/commands', {
      body: { lead: crm, command: { type: 'consent.unsubscribed', doNotContact: true } },
    });
    expect(dnc.status).toBe(200);

    // The same person fills a form under their address: a new record, opted in, whose email is suppressed.
    const { leadId } = await capture(address, true, tenant);
    await eventually(async () => expect(await outboxOf(leadId)).toContain('email.skipped'));
    expect(await outboxOf(leadId)).not.toContain('email');
    const skipped = (await readOutbox(api.h.dataDir)).find(
      (r) => r.workflowId === leadId && r.kind === 'email.skipped',
    );
    expect(skipped?.payload).toMatchObject({ reason: 'do_not_contact' });
  });

  it('a DNC lead is not handed to sales however engaged, sales cannot accept it, and the CRM is told once', async () => {
    const { lead, leadId } = await capture('linus@dnc.example');
    const send = (command: object) => api.call('POST', '/v1/leads/commands', { body: { lead, command } });
    expect((await send({ type: 'consent.unsubscribed', doNotContact: true })).status).toBe(200);
    for (const kind of ['demo_request', 'webinar_attended', 'pricing_page', 'premium_content']) {
      expect((await send({ type: 'engagement', kind })).status).toBe(200);
    }
    const view = await state(lead);
    expect(view.stage).toBe('lead');
    expect(view.score).toBeGreaterThanOrEqual(50);
    const crm = await eventually(async () => {
      const records = await readOutbox(api.h.dataDir, { kind: 'crm' });
      const mine = records.filter((r) => r.workflowId === leadId);
      expect(mine).toHaveLength(1);
      return mine;
    });
    expect(crm[0]?.payload).toMatchObject({ type: 'sales.do_not_contact', lead: { doNotContact: true } });
  });

  it('every handoff tells the CRM the consent state and the do-not-contact flag', async () => {
    const { lead, leadId } = await capture('ken@handoff.example');
    for (const kind of ['demo_request', 'webinar_attended', 'pricing_page']) {
      await api.call('POST', '/v1/leads/commands', { body: { lead, command: { type: 'engagement', kind } } });
    }
    const [handoff] = await eventually(async () => {
      const records = (await readOutbox(api.h.dataDir, { kind: 'crm' })).filter(
        (r) => r.workflowId === leadId,
      );
      expect(records).toHaveLength(1);
      return records;
    });
    expect(handoff?.payload).toMatchObject({
      type: 'sales.handoff',
      lead: { consent: 'granted', doNotContact: false, stage: 'mql' },
    });
  });
});
