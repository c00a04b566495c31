import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeadClient } from '../../src/client/index.js';
import { loadDataConverter } from '../../src/codec/keys.js';
import { buildCodecServer } from '../../src/codec/server.js';
import { startHttpServer, startSmtpServer } from '../activities/helpers.js';
import { FIT } from '../support/lead.js';
import { startWorkerProcess, type WorkerProcess } from '../support/processes.js';
import { devServer } from '../support/temporal.js';
import { eventually } from '../support/workflow.js';

/**
 * A CRM and a mail server whose refusals quote the lead's address (as real ones do: "duplicate
 * contact ada@...", "550 5.1.1 <ada@...>: no such user"). The address must reach neither what
 * Temporal stores (read without the codec, every string and byte of it) nor the worker's log.
 */
const REFUSED = 'grace.hopper'; // the local part: also catches the address URL-encoded or quoted
const BUSY = 'busy.lovelace';
const at = (local: string) => `${local}@pii.example`;

/** Every string and every byte (as UTF-8) of a value: what an operator without the key can read. */
function everyText(value: unknown): string {
  const found: string[] = [];
  const walk = (node: unknown) => {
    if (typeof node === 'string') found.push(node);
    else if (node instanceof Uint8Array) found.push(Buffer.from(node).toString('utf8'));
    else if (node && typeof node === 'object') for (const v of Object.values(node)) walk(v);
  };
  walk(value);
  return found.join('\n');
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
const failedActivities = (events: HistoryEvent[]) =>
  events.flatMap((e) => {
    const failed = e.activityTaskFailedEventAttributes;
    if (!failed) return [];
    const scheduled = events.find((s) => s.eventId?.toString() === failed.scheduledEventId?.toString());
    return [
      { type: scheduled?.activityTaskScheduledEventAttributes?.activityType?.name, failure: failed.failure },
    ];
  });

let dataDir: string;
let env: Record<string, string>;
let connection: Connection;
let raw: Client;
let leads: LeadClient;
let worker: WorkerProcess | undefined;
let crm: Awaited<ReturnType<typeof startHttpServer>>;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
const rcpts: string[] = [];

beforeAll(async () => {
  crm = await startHttpServer((req, res) => {
    const { lead } = JSON.parse(req.body) as { lead: { profile: { email: string } } };
    res
      .writeHead(400, { 'content-type': 'application/json' })
      .end(JSON.stringify({ error: `duplicate contact ${lead.profile.email}` }));
  });
  smtp = await startSmtpServer({
    onRcptTo(address, _session, callback) {
      rcpts.push(address.address);
      // The reply quotes the address, as many servers do.
      const busy = address.address.startsWith(BUSY);
      callback(
        Object.assign(
          new Error(
            busy ? `4.2.1 <${address.address}>: mailbox busy` : `5.1.1 <${address.address}>: no such user`,
          ),
          { responseCode: busy ? 451 : 550 },
        ),
      );
    },
  });
  dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-pii-'));
  env = {
    TEMPORAL_ADDRESS: devServer().address,
    TEMPORAL_NAMESPACE: devServer().namespace,
    LEADCYCLE_TASK_QUEUE: `pii-${process.pid}-${Date.now()}`,
    LEADCYCLE_DATA_DIR: dataDir,
    LEADCYCLE_SMTP_URL: smtp.url,
    LEADCYCLE_MAIL_FROM: 'Acme Marketing <marketing@acme.example>',
    LEADCYCLE_UNSUBSCRIBE_SECRET: 'unsub-0123456789abcdef',
    LEADCYCLE_CRM_WEBHOOK_URL: crm.url,
    LEADCYCLE_CRM_WEBHOOK_SECRET: 'crm-0123456789abcdef',
  };
  connection = await Connection.connect({ address: env.TEMPORAL_ADDRESS });
  // Without the codec: what Temporal stores.
  raw = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE });
  const { dataConverter } = await loadDataConverter(env);
  leads = new LeadClient(new Client({ connection, namespace: env.TEMPORAL_NAMESPACE, dataConverter }), {
    taskQueue: env.LEADCYCLE_TASK_QUEUE,
  });
  // The real entry point, as deployed: it bundles the workflows and logs with the SDK's logger.
  worker = await startWorkerProcess(env, 150_000);
}, 180_000);

afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await worker?.exited;
  await connection?.close();
  await crm?.close();
  await smtp?.close();
});

/** To MQL: a nurture email at capture, a CRM handoff at MQL. */
async function toMql(ref: { tenant: string; email: string }) {
  await leads.capture(ref, {
    type: 'form.submitted',
    form: 'demo_request',
    consent: true,
    profile: { ...FIT, email: ref.email },
  });
  for (let i = 0; i < 4; i++) await leads.send(ref, { type: 'engagement', kind: 'email_open' });
  await leads.send(ref, { type: 'engagement', kind: 'webinar_attended' });
  const view = await leads.send(ref, { type: 'engagement', kind: 'pricing_page' });
  expect(view.stage).toBe('mql');
}

describe('no personal data in failures, stack traces or logs', () => {
  it('a CRM 400 and an SMTP 550 quoting the address: history and worker log hold codes, not the address', async () => {
    const ref = { tenant: `pii-${Date.now()}`, email: at(REFUSED) };
    await toMql(ref);
    const { workflowId } = LeadClient.keyOf(ref);

    const events = await eventually(async () => {
      const history = await raw.workflow.getHandle(workflowId).fetchHistory();
      const failed = failedActivities(history.events ?? []);
      expect(failed.map((f) => f.type).sort()).toEqual(['handOffToSales', 'sendContent']);
      return history.events ?? [];
    }, 60_000);
    // Both remotes did answer with the address: the check below is not vacuous.
    expect(crm.received.length).toBeGreaterThan(0);
    expect(rcpts).toContain(at(REFUSED));

    // Every string and byte of the history, read without the codec.
    expect(everyText(events)).not.toContain(REFUSED);
    // Messages and stack traces are encrypted: Temporal shows a placeholder (the activity's own error, unwrapped).
    for (const { failure } of failedActivities(events)) {
      expect(failure?.message).toBe('Encoded failure');
      expect(failure?.encodedAttributes).toBeTruthy();
    }

    // The worker logged both failures (the SDK's "Activity failed", the workflow's own line), without the address.
    await eventually(async () => {
      expect(worker?.output().match(/effect failed permanently/g)?.length).toBeGreaterThanOrEqual(2);
    });
    const log = worker?.output() ?? '';
    expect(log).toContain('Activity failed');
    expect(log).not.toContain(REFUSED);

    // With the codec, operators read why: the status and reply codes, from the codec server the UI calls.
    const { codec } = await loadDataConverter(env);
    const app = buildCodecServer({ codec, origins: ['http://localhost:8233'] });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const decoded = await Promise.all(
        failedActivities(events).map(async ({ type, failure }) => {
          const payload = failure?.encodedAttributes as Payload;
          const res = await fetch(`${url}/decode`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', origin: 'http://localhost:8233' },
            body: JSON.stringify({
              payloads: [
                {
                  metadata: Object.fromEntries(
                    Object.entries(payload.metadata ?? {}).map(([k, v]) => [
                      k,
                      Buffer.from(v).toString('base64'),
                    ]),
                  ),
                  data: Buffer.from(payload.data ?? []).toString('base64'),
                },
              ],
            }),
          });
          expect(res.status).toBe(200);
          const body = (await res.json()) as { payloads: Array<{ data: string }> };
          const attrs = JSON.parse(Buffer.from(body.payloads[0]?.data ?? '', 'base64').toString('utf8')) as {
            message: string;
            stack_trace: string;
          };
          return { type, ...attrs };
        }),
      );
      expect(decoded.find((d) => d.type === 'handOffToSales')?.message).toBe(
        `CRM webhook ${crm.url} answered 400 (bad request)`,
      );
      expect(decoded.find((d) => d.type === 'sendContent')?.message).toBe(
        'the mail server refused the recipient: 550 5.1.1 at RCPT TO',
      );
      expect(everyText(decoded)).not.toContain(REFUSED);
      expect(worker?.output()).toContain('answered 400 (bad request)');
    } finally {
      await app.close();
    }
  });

  it('a retried SMTP 451 quoting the address: the pending activity’s last failure and the log hold codes only', async () => {
    const ref = { tenant: `pii-busy-${Date.now()}`, email: at(BUSY) };
    await leads.capture(ref, {
      type: 'form.submitted',
      form: 'demo_request',
      consent: true,
      profile: { ...FIT, email: ref.email },
    });
    const { workflowId } = LeadClient.keyOf(ref);
    const handle = raw.workflow.getHandle(workflowId);
    try {
      // A retryable failure is not in the history yet: Temporal keeps it with the pending activity.
      const pending = await eventually(async () => {
        const { raw: description } = await handle.describe();
        const busy = description.pendingActivities?.find((a) => a.activityType?.name === 'sendContent');
        expect(busy?.lastFailure?.message).toBe('Encoded failure');
        expect(busy?.attempt).toBeGreaterThanOrEqual(2);
        return description;
      }, 60_000);
      expect(rcpts).toContain(at(BUSY));
      expect(everyText(pending)).not.toContain(BUSY);
      await eventually(async () => expect(worker?.output()).toContain('SmtpUnavailableError'));
      expect(worker?.output()).not.toContain(BUSY);
      expect(worker?.output()).toContain('451 4.2.1 at RCPT TO');
    } finally {
      await handle.terminate('test done').catch(() => {});
    }
  });
});
