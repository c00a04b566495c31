import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import { LeadClient } from '../../src/client/index.js';
import { loadDataConverter } from '../../src/codec/keys.js';
import { startHttpServer, startSmtpServer } from '../activities/helpers.js';
import { FIT } from '../support/lead.js';
import { startWorkerProcess, type WorkerProcess } from '../support/processes.js';
import { devServer } from '../support/temporal.js';
import { eventually } from '../support/workflow.js';

/**
 * An email (a handoff) queued while the mail server (the CRM) is down, retried by Temporal; the
 * person says "do not contact" meanwhile; the server comes back: nothing reaches them. The consent
 * change waits in the workflow's queue behind the stuck effect, so the retry must ask the lead for
 * its consent now. A real worker process, a real smtp-server answering 451, a real HTTP CRM
 * answering 503.
 */
let smtpDown = true;
let crmDown = true;
const smtpAttempts: string[] = [];
const handoffs: Array<{ type: string; leadKey: string; status: number }> = [];

let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let crm: Awaited<ReturnType<typeof startHttpServer>>;
let env: Record<string, string>;
let worker: WorkerProcess | undefined;
let connection: Connection;
let leads: LeadClient;

beforeAll(async () => {
  smtp = await startSmtpServer({
    onRcptTo(address, _session, callback) {
      smtpAttempts.push(address.address);
      if (smtpDown)
        callback(Object.assign(new Error('4.3.0 mail system down, try later'), { responseCode: 451 }));
      else callback();
    },
  });
  crm = await startHttpServer((req, res) => {
    const body = JSON.parse(req.body) as { type: string; leadKey: string };
    const status = crmDown ? 503 : 200;
    handoffs.push({ type: body.type, leadKey: body.leadKey, status });
    res.writeHead(status, status === 503 ? { 'Retry-After': '1' } : {}).end();
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-outage-consent-'));
  env = {
    TEMPORAL_ADDRESS: devServer().address,
    LEADCYCLE_TASK_QUEUE: `outage-consent-${Date.now()}`,
    LEADCYCLE_DATA_DIR: dataDir,
    LEADCYCLE_SMTP_URL: smtp.url,
    LEADCYCLE_MAIL_FROM: 'Acme Marketing <marketing@acme.example>',
    LEADCYCLE_UNSUBSCRIBE_SECRET: 'unsub_outage_consent_0123456789',
    LEADCYCLE_CRM_WEBHOOK_URL: crm.url,
    LEADCYCLE_CRM_WEBHOOK_SECRET: 'whsec_outage_consent_0123456789',
  };
  worker = await startWorkerProcess(env);
  connection = await Connection.connect({ address: devServer().address });
  const { dataConverter } = await loadDataConverter(env);
  leads = new LeadClient(new Client({ connection, dataConverter }), { taskQueue: env.LEADCYCLE_TASK_QUEUE });
});
afterAll(async () => {
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await connection?.close();
  await smtp?.close();
  await crm?.close();
});

const form = (email: string, kind: 'content_download' | 'demo_request' = 'demo_request') =>
  ({ type: 'form.submitted', form: kind, consent: true, profile: { ...FIT, email } }) as const;
const settle = () => new Promise((r) => setTimeout(r, 6_000));

describe('consent withdrawn during an outage', () => {
  it('a queued email is not sent after a do-not-contact, once the failing mail server recovers', async () => {
    const ref = { tenant: `outage-${Date.now()}`, email: 'ada@outage.example' };
    const { leadKey } = LeadClient.keyOf(ref);
    // Not a hand-raiser: the email is the lead's first effect, with no handoff queued before it.
    await leads.capture(ref, form(ref.email, 'content_download'));
    // The nurture email is refused (451) and retried.
    await eventually(async () =>
      expect(smtpAttempts.filter((a) => a === ref.email).length).toBeGreaterThan(1),
    );
    const view = await leads.send(ref, { type: 'consent.unsubscribed', doNotContact: true });
    expect(view.consent).not.toBe('granted');

    smtpDown = false;
    const skipped = await eventually(async () => {
      const records = await readOutbox(env.LEADCYCLE_DATA_DIR as string, { leadKey });
      expect(records.map((r) => r.kind)).toContain('email.skipped');
      return records;
    }, 30_000);
    await settle();
    expect(smtp.received.filter((m) => m.to.includes(ref.email))).toEqual([]);
    expect(skipped.filter((r) => r.kind === 'email')).toEqual([]);
    expect(skipped.find((r) => r.kind === 'email.skipped')?.payload).toMatchObject({
      reason: 'do_not_contact',
    });
  }, 60_000);

  it('a queued handoff is not handed over after a do-not-contact, once the failing CRM recovers; the CRM hears the do-not-contact', async () => {
    const ref = { tenant: `outage-${Date.now()}`, email: 'bob@outage.example' };
    const { leadKey } = LeadClient.keyOf(ref);
    await leads.capture(ref, form(ref.email));
    await leads.send(ref, { type: 'engagement', kind: 'quote_request' });
    await eventually(async () =>
      expect(
        handoffs.filter((h) => h.leadKey === leadKey && h.type === 'sales.handoff').length,
      ).toBeGreaterThan(1),
    );
    await leads.send(ref, { type: 'consent.unsubscribed', doNotContact: true });

    crmDown = false;
    await eventually(async () =>
      expect(handoffs.filter((h) => h.leadKey === leadKey && h.status === 200).map((h) => h.type)).toEqual([
        'sales.do_not_contact',
      ]),
    );
    await settle();
    const accepted = handoffs.filter((h) => h.leadKey === leadKey && h.status === 200);
    expect(accepted.map((h) => h.type)).toEqual(['sales.do_not_contact']);
  }, 60_000);
});
