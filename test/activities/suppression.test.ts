/** The suppression list, checked where the message leaves: through the outbox and through real SMTP. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type ContentSender,
  createActivities,
  Outbox,
  OutboxCrm,
  OutboxSender,
  readOutbox,
  SmtpSender,
} from '../../src/activities/index.js';
import { type AnalyticsStore, openAnalyticsStore } from '../../src/analytics/index.js';
import { AT, contentSend, handoffLead, salesHandoff, startSmtpServer, tempDir } from './helpers.js';

const MAIL = { from: 'Acme Marketing <marketing@acme.example>', unsubscribeUrl: null, unsubscribeLink: null };

let dir: string;
let cleanup: () => Promise<void>;
let outbox: Outbox;
let analytics: AnalyticsStore;
let sender: ContentSender | undefined;
let smtp: Awaited<ReturnType<typeof startSmtpServer>> | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  outbox = new Outbox(dir);
  analytics = openAnalyticsStore(dir);
});
afterEach(async () => {
  await sender?.close();
  await smtp?.close();
  sender = undefined;
  smtp = undefined;
  await analytics.close();
  await outbox.close();
  await cleanup();
});

function activitiesOver(via: ContentSender) {
  sender = via;
  return createActivities({ outbox, sender: via, crm: new OutboxCrm(outbox), analytics });
}

/** Ada's do-not-contact, recorded as the workflow records it: by her email lead in tenant acme. */
async function adaSaysDoNotContact(activities: ReturnType<typeof createActivities>) {
  await activities.recordConsentChange({
    idempotencyKey: 'lead-ada/1',
    workflowId: 'lead-ada',
    leadKey: 'acme:email:ada@lead.example',
    address: 'ada@lead.example',
    change: { type: 'consent.changed', consent: 'withdrawn', doNotContact: true, source: 'link', at: AT },
  });
}

const send = (leadKey: string, email: string, seq = 2) => ({
  idempotencyKey: `${leadKey}/${seq}`,
  workflowId: `wf-${leadKey}`,
  leadKey,
  to: { email, firstName: 'Ada' },
  content: contentSend(),
});

describe('a suppressed address', () => {
  it('gets nothing through the outbox sender, from any record of the person in its tenant', async () => {
    const activities = activitiesOver(new OutboxSender(outbox, MAIL));
    await adaSaysDoNotContact(activities);

    const same = send('acme:email:ada@lead.example', 'ada@lead.example');
    const first = await activities.sendContent(same);
    expect(first).toEqual({
      delivered: false,
      skipped: 'do_not_contact',
      messageId: expect.stringMatching(/^<lc\.[0-9a-f]{32}@acme\.example>$/),
    });
    // A retry answers the same and records nothing more.
    expect(await activities.sendContent(same)).toEqual(first);
    // Another record of the same person (a CRM id), the address written another way.
    const crm = await activities.sendContent(send('acme:ext:hubspot:7', 'ADA@Lead.example'));
    expect(crm).toMatchObject({ delivered: false, skipped: 'do_not_contact' });

    expect(await readOutbox(dir, { kind: 'email' })).toEqual([]);
    const skips = await readOutbox(dir, { kind: 'email.skipped' });
    expect(skips.map((r) => [r.key, r.leadKey])).toEqual([
      ['acme:email:ada@lead.example/2', 'acme:email:ada@lead.example'],
      ['acme:ext:hubspot:7/2', 'acme:ext:hubspot:7'],
    ]);
    expect(skips[0]?.payload).toEqual({
      reason: 'do_not_contact',
      content: contentSend(),
      messageId: first.messageId,
    });
    for (const skip of skips) expect(JSON.stringify(skip.payload).toLowerCase()).not.toContain('ada@lead');
  });

  it('is suppressed in its tenant only: the same address in another tenant is mailed', async () => {
    const activities = activitiesOver(new OutboxSender(outbox, MAIL));
    await adaSaysDoNotContact(activities);
    const other = await activities.sendContent(send('globex:email:ada@lead.example', 'ada@lead.example'));
    expect(other).toEqual({ delivered: true, messageId: expect.any(String) });
    expect((await readOutbox(dir)).map((r) => [r.kind, r.leadKey])).toEqual([
      ['email', 'globex:email:ada@lead.example'],
    ]);
  });

  it('gets nothing through a real SMTP server, while another tenant gets its email', async () => {
    smtp = await startSmtpServer();
    const activities = activitiesOver(new SmtpSender(outbox, MAIL, { url: smtp.url, timeoutMs: 5000 }));
    await adaSaysDoNotContact(activities);

    expect(
      await activities.sendContent(send('acme:email:ada@lead.example', 'ada@lead.example')),
    ).toMatchObject({
      delivered: false,
      skipped: 'do_not_contact',
    });
    expect(await activities.sendContent(send('acme:ext:crm-1', 'Ada@lead.example'))).toMatchObject({
      delivered: false,
      skipped: 'do_not_contact',
    });
    expect(smtp.received).toEqual([]);

    expect(
      await activities.sendContent(send('globex:email:ada@lead.example', 'ada@lead.example')),
    ).toMatchObject({
      delivered: true,
    });
    expect(smtp.received.map((m) => m.to)).toEqual([['ada@lead.example']]);
  });

  it('is never mailed again once suppressed, even under a key first delivered before', async () => {
    smtp = await startSmtpServer();
    const activities = activitiesOver(new SmtpSender(outbox, MAIL, { url: smtp.url, timeoutMs: 5000 }));
    const earlier = send('acme:email:ada@lead.example', 'ada@lead.example', 5);
    expect((await activities.sendContent(earlier)).delivered).toBe(true);
    await adaSaysDoNotContact(activities);
    // A late retry of the earlier send, and a new one: neither reaches the server.
    expect(await activities.sendContent(earlier)).toMatchObject({
      delivered: false,
      skipped: 'do_not_contact',
    });
    expect(
      await activities.sendContent({ ...earlier, idempotencyKey: 'acme:email:ada@lead.example/6' }),
    ).toMatchObject({
      delivered: false,
    });
    expect(smtp.received).toHaveLength(1);
  });
});

describe('consent checked where the message leaves', () => {
  it('an email queued before an unsubscribe or a do-not-contact is not sent, and says why', async () => {
    const activities = activitiesOver(new OutboxSender(outbox, MAIL));
    const lead = 'acme:email:grace@lead.example';
    const queued = (seq: number, consent: { state: 'granted' | 'withdrawn'; doNotContact: boolean }) => ({
      ...send(lead, 'grace@lead.example', seq),
      consent,
    });
    expect(
      await activities.sendContent(queued(2, { state: 'withdrawn', doNotContact: false })),
    ).toMatchObject({
      delivered: false,
      skipped: 'unsubscribed',
    });
    expect(await activities.sendContent(queued(3, { state: 'withdrawn', doNotContact: true }))).toMatchObject(
      {
        delivered: false,
        skipped: 'do_not_contact',
      },
    );
    expect(await activities.sendContent(queued(4, { state: 'granted', doNotContact: false }))).toMatchObject({
      delivered: true,
    });
    const kinds = (await readOutbox(dir, { leadKey: lead })).map((r) => r.kind);
    expect(kinds).toEqual(['email.skipped', 'email.skipped', 'email']);
  });

  it('a handoff queued before a do-not-contact is not handed to the CRM', async () => {
    const activities = activitiesOver(new OutboxSender(outbox, MAIL));
    const handoff = {
      idempotencyKey: 'lead-ken/5',
      workflowId: 'lead-ken',
      leadKey: 'acme:email:ken@lead.example',
      lead: { ...handoffLead, doNotContact: true, consent: 'withdrawn' as const },
      handoff: salesHandoff(),
    };
    expect(await activities.handOffToSales(handoff)).toEqual({ delivered: false });
    expect(await readOutbox(dir, { kind: 'crm' })).toEqual([]);
    // Nor a handoff of another record of an address on the suppression list.
    await adaSaysDoNotContact(activities);
    const crmRecord = {
      ...handoff,
      idempotencyKey: 'lead-crm/2',
      workflowId: 'lead-crm',
      leadKey: 'acme:ext:hubspot:7',
      lead: { ...handoffLead, profile: { ...handoffLead.profile, email: 'Ada@lead.example' } },
    };
    expect(await activities.handOffToSales(crmRecord)).toEqual({ delivered: false });
    expect(await readOutbox(dir, { kind: 'crm' })).toEqual([]);
    // The notice that the person is do-not-contact does go out.
    const notice = {
      ...handoff,
      idempotencyKey: 'lead-ken/6',
      handoff: { type: 'sales.do_not_contact' as const, at: AT },
    };
    expect(await activities.handOffToSales(notice)).toEqual({ delivered: true });
  });
});
