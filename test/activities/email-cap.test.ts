/**
 * The email cap checked again where the email leaves, on the times emails really went out: after a
 * mail outage, emails the machine spread over weeks arrive together, and the next one must not make
 * more than `max` in the window on real times. Through a real SMTP server.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createActivities,
  Outbox,
  OutboxCrm,
  readOutbox,
  type SendContentInput,
  SmtpSender,
} from '../../src/activities/index.js';
import { type AnalyticsStore, openAnalyticsStore } from '../../src/analytics/index.js';
import { DAY_MS } from '../../src/machines/index.js';
import { contentSend, startSmtpServer, tempDir } from './helpers.js';

const MAIL = { from: 'Acme Marketing <marketing@acme.example>', unsubscribeUrl: null, unsubscribeLink: null };
const CAP = { max: 3, windowDays: 30 };

let dir: string;
let cleanup: () => Promise<void>;
let outbox: Outbox;
let analytics: AnalyticsStore;
let sender: SmtpSender;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let activities: ReturnType<typeof createActivities>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  outbox = new Outbox(dir);
  analytics = openAnalyticsStore(dir);
  smtp = await startSmtpServer();
  sender = new SmtpSender(outbox, MAIL, { url: smtp.url, timeoutMs: 5000 });
  activities = createActivities({ outbox, sender, crm: new OutboxCrm(outbox), analytics });
});
afterEach(async () => {
  await sender.close();
  await smtp.close();
  await analytics.close();
  await outbox.close();
  await cleanup();
});

/** The n-th email of a lead, decided by the machine `daysAgo` days before now. */
const email = (leadKey: string, seq: number, daysAgo: number, over: Partial<SendContentInput> = {}) => ({
  idempotencyKey: `wf-${leadKey}/${seq}`,
  workflowId: `wf-${leadKey}`,
  leadKey,
  to: { email: 'ada@lead.example', firstName: 'Ada' },
  content: contentSend({
    at: Date.now() - daysAgo * DAY_MS,
    item: { id: `item-${seq}`, title: `Item ${seq}`, url: `https://example.com/${seq}` },
  }),
  consent: { state: 'granted' as const, doNotContact: false },
  emailCap: CAP,
  ...over,
});

/** Three emails decided 35, 25 and 15 days ago, 10 days apart, that an outage held until now. */
async function lateDeliveriesFillTheCap(leadKey: string): Promise<void> {
  for (const [seq, daysAgo] of [
    [1, 35],
    [2, 25],
    [3, 15],
  ] as const) {
    expect(await activities.sendContent(email(leadKey, seq, daysAgo))).toMatchObject({ delivered: true });
  }
}

describe('the email cap at delivery', () => {
  it('skips an email the machine allowed when late deliveries already put the cap in the window', async () => {
    const lead = 'acme:email:ada@lead.example';
    await lateDeliveriesFillTheCap(lead);
    // The machine's window (30 days) holds two of its own sends: a fourth is allowed by it. Not on real times.
    const fourth = await activities.sendContent(email(lead, 4, 0));
    expect(fourth).toMatchObject({ delivered: false, skipped: 'email_cap' });
    expect(smtp.received).toHaveLength(3);
    // A retry of the skipped email answers the same and sends nothing.
    expect(await activities.sendContent(email(lead, 4, 0))).toMatchObject({
      delivered: false,
      skipped: 'email_cap',
    });
    expect(smtp.received).toHaveLength(3);

    const skipped = await readOutbox(dir, { kind: 'email.skipped' });
    expect(skipped).toMatchObject([{ key: `wf-${lead}/4`, payload: { reason: 'email_cap' } }]);
    // The reason is kept without the address.
    expect(skipped[0]?.payload).not.toHaveProperty('to');

    // Another record of the same person (a CRM id) counts the same emails; another tenant does not.
    const other = await activities.sendContent({
      ...email('acme:ext:crm:7', 1, 0),
      to: { email: 'ADA@Lead.example' },
    });
    expect(other).toMatchObject({ skipped: 'email_cap' });
    expect(await activities.sendContent(email('globex:email:ada@lead.example', 1, 0))).toMatchObject({
      delivered: true,
    });

    // A retry of an email that went out before is not skipped by its own send.
    expect(await activities.sendContent(email(lead, 3, 15))).toMatchObject({ delivered: false });
    expect((await readOutbox(dir, { kind: 'email.skipped' })).map((r) => r.key)).toEqual([
      `wf-${lead}/4`,
      'wf-acme:ext:crm:7/1',
    ]);
  });

  it('records a capped email as suppressed when its retry follows an outcome write that failed', async () => {
    const lead = 'acme:email:ada@lead.example';
    await lateDeliveriesFillTheCap(lead);
    // The skip is in the outbox, then the analytics store fails once: the activity fails and is retried.
    let failures = 1;
    const flaky = new Proxy(analytics, {
      get(store, name) {
        if (name === 'recordEmailOutcome' && failures-- > 0)
          return () => Promise.reject(new Error('disk full'));
        const value = Reflect.get(store, name, store);
        return typeof value === 'function' ? value.bind(store) : value;
      },
    });
    const retrying = createActivities({ outbox, sender, crm: new OutboxCrm(outbox), analytics: flaky });
    await expect(retrying.sendContent(email(lead, 4, 0))).rejects.toThrow('disk full');
    expect(await retrying.sendContent(email(lead, 4, 0))).toMatchObject({
      delivered: false,
      skipped: 'email_cap',
    });
    expect(smtp.received).toHaveLength(3);
    const outcomes = await analytics.emailOutcomes();
    expect(outcomes.find((o) => o.key === `wf-${lead}/4`)).toMatchObject({
      outcome: 'suppressed',
      skipReason: 'email_cap',
    });
  });

  it('counts what a new worker finds in the outbox (a restart), and lets an email through below the cap', async () => {
    const lead = 'acme:email:ada@lead.example';
    await activities.sendContent(email(lead, 1, 40));
    await activities.sendContent(email(lead, 2, 30));
    // A new worker over the same data dir learns the send times from the file.
    const restarted = new Outbox(dir);
    const resender = new SmtpSender(restarted, MAIL, { url: smtp.url, timeoutMs: 5000 });
    const again = createActivities({
      outbox: restarted,
      sender: resender,
      crm: new OutboxCrm(restarted),
      analytics,
    });
    expect(await again.sendContent(email(lead, 3, 20))).toMatchObject({ delivered: true });
    expect(await again.sendContent(email(lead, 4, 0))).toMatchObject({ skipped: 'email_cap' });
    await resender.close();
    await restarted.close();
    expect(smtp.received).toHaveLength(3);
  });

  it('leaves an activity scheduled without the cap (before it was passed) to the machine', async () => {
    const lead = 'acme:email:ada@lead.example';
    for (let seq = 1; seq <= 4; seq++) {
      expect(
        await activities.sendContent(email(lead, seq, 40 - seq * 10, { emailCap: undefined })),
      ).toMatchObject({ delivered: true });
    }
    expect(smtp.received).toHaveLength(4);
  });
});
