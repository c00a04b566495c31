import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { messageIdFor, readOutbox, verifySignature } from '../../src/activities/index.js';
import { LeadClient } from '../../src/client/index.js';
import { loadDataConverter } from '../../src/codec/keys.js';
import type { LeadCommandInput } from '../../src/machines/index.js';
import { startHttpServer, startSmtpServer } from '../activities/helpers.js';
import { BANT_COMPLETE, FIT } from '../support/lead.js';
import { startWorkerProcess, type WorkerProcess } from '../support/processes.js';
import { devServer } from '../support/temporal.js';
import { eventually } from '../support/workflow.js';

/**
 * The worker killed with SIGKILL mid-burst while it delivers to real receivers: a CRM webhook (a node
 * HTTP server) and a mail server (smtp-server). Counted where they arrive, by idempotency key and
 * Message-ID: every delivery the outbox knows arrived, none arrived that it does not know, and a
 * re-delivery after the crash (at-least-once: the crash can fall between the send and the outbox
 * record) carries the same key and the same content. LEADCYCLE_CRASH_RECEIVER_LEADS sets the count.
 */
const LEADS = Number(process.env.LEADCYCLE_CRASH_RECEIVER_LEADS ?? 60);
const CONCURRENCY = 20;
const SECRET = 'whsec_crash_receivers_0123456789';
const MAIL_FROM = 'Acme Marketing <marketing@acme.example>';
const ANSWER_DELAY_MS = 300;
const burst = (email: string): LeadCommandInput[] => [
  { type: 'form.submitted', form: 'demo_request', consent: true, profile: { ...FIT, email } },
  { type: 'engagement', kind: 'quote_request' },
  { type: 'bant.updated', bant: BANT_COMPLETE },
];

/** What arrived under each key: its bodies (one per arrival). */
const posts = new Map<string, string[]>();
const mails = new Map<string, string[]>();
let badSignatures = 0;
const arrive = (into: Map<string, string[]>, key: string, content: string) =>
  into.set(key, [...(into.get(key) ?? []), content]);

let crm: Awaited<ReturnType<typeof startHttpServer>>;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let dataDir: string;
let env: Record<string, string>;
let connection: Connection;
let leads: LeadClient;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  crm = await startHttpServer((req, res) => {
    if (!verifySignature(SECRET, req.headers['leadcycle-signature'] as string, req.body).ok) badSignatures++;
    arrive(posts, String(req.headers['idempotency-key']), req.body);
    // Answered a little later, so the kill finds deliveries the receiver has and the worker has not
    // recorded yet: those come again after the crash.
    setTimeout(() => res.writeHead(200).end('ok'), ANSWER_DELAY_MS);
  });
  smtp = await startSmtpServer({
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const id = /^Message-ID:\s*(.+)$/im.exec(raw)?.[1]?.trim() ?? '(none)';
        arrive(mails, id, raw);
        setTimeout(callback, ANSWER_DELAY_MS);
      });
    },
  });
  dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-crash-receivers-'));
  env = {
    TEMPORAL_ADDRESS: devServer().address,
    LEADCYCLE_TASK_QUEUE: `crash-receivers-${Date.now()}`,
    LEADCYCLE_DATA_DIR: dataDir,
    LEADCYCLE_CRM_WEBHOOK_URL: crm.url,
    LEADCYCLE_CRM_WEBHOOK_SECRET: SECRET,
    LEADCYCLE_SMTP_URL: smtp.url,
    LEADCYCLE_MAIL_FROM: MAIL_FROM,
    LEADCYCLE_UNSUBSCRIBE_SECRET: 'unsub_crash_receivers_0123456789',
  };
  connection = await Connection.connect({ address: devServer().address });
  const { dataConverter } = await loadDataConverter(env);
  leads = new LeadClient(new Client({ connection, dataConverter }), { taskQueue: env.LEADCYCLE_TASK_QUEUE });
});
afterAll(async () => {
  worker?.child.kill('SIGKILL');
  await connection?.close();
  await crm?.close();
  await smtp?.close();
});

describe('worker crash, real receivers', () => {
  it(`kill -9 while ${LEADS} leads are handed to a real CRM and mailed through real SMTP: every delivery arrives, under one key, with one content`, async () => {
    worker = await startWorkerProcess(env);
    const tenant = `crashr-${Date.now()}`;
    const refs = Array.from({ length: LEADS }, (_, i) => ({ tenant, email: `lead${i}@crash.example` }));
    const total = refs.length * burst('').length;
    let sent = 0;
    let killedAt = -1;
    let crashing: Promise<void> | null = null;
    const crash = async () => {
      killedAt = sent;
      worker?.child.kill('SIGKILL');
      await worker?.exited;
      worker = await startWorkerProcess(env);
    };

    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < refs.length; i = next++) {
          const ref = refs[i] as (typeof refs)[number];
          for (const [n, command] of burst(ref.email).entries()) {
            await (n === 0 ? leads.capture(ref, command) : leads.send(ref, command));
            sent++;
            if (sent === Math.floor(total / 3)) crashing = crash();
          }
        }
      }),
    );
    await crashing;
    expect(killedAt).toBeGreaterThan(0);
    expect(worker?.output()).toContain('leadcycle worker on');

    // Every lead got its handoff and its first nurture email: the outbox (the worker's memory) knows
    // them. An attempt the kill cut short is retried once its 1-minute start-to-close timeout ran out.
    const outbox = await eventually(async () => {
      const records = await readOutbox(dataDir);
      for (const ref of refs) {
        const leadKey = LeadClient.keyOf(ref).leadKey;
        expect(records.filter((r) => r.leadKey === leadKey && r.kind === 'crm')).toHaveLength(1);
        expect(records.filter((r) => r.leadKey === leadKey && r.kind === 'email').length).toBeGreaterThan(0);
      }
      return records;
    }, 100_000);

    // The receivers saw exactly the outbox's deliveries: none missing, none unknown.
    const crmKeys = outbox.filter((r) => r.kind === 'crm').map((r) => r.key);
    const messageIds = outbox.filter((r) => r.kind === 'email').map((r) => messageIdFor(r.key, MAIL_FROM));
    expect(new Set(posts.keys())).toEqual(new Set(crmKeys));
    expect(new Set(mails.keys())).toEqual(new Set(messageIds));
    expect(posts.size).toBe(LEADS);
    expect(badSignatures).toBe(0);

    // A re-delivery carries the same content as the first: a receiver deduping on the key loses nothing.
    for (const bodies of posts.values()) expect(new Set(bodies).size).toBe(1);
    // Emails: the same message but for the Date header and the MIME boundaries nodemailer draws per send.
    const stable = (raw: string) => {
      const boundaries = [...raw.matchAll(/boundary="?([^";\r\n]+)"?/g)].map((m) => m[1] as string);
      const unbounded = boundaries.reduce((text, b) => text.replaceAll(b, '<boundary>'), raw);
      return unbounded.replace(/^Date:.*$/im, '');
    };
    for (const raws of mails.values()) expect(new Set(raws.map(stable)).size).toBe(1);

    const reposts = [...posts.values()].reduce((n, b) => n + b.length - 1, 0);
    const resent = [...mails.values()].reduce((n, r) => n + r.length - 1, 0);
    console.log(
      `worker-crash-receivers: killed after ${killedAt} of ${total} commands; ${posts.size} handoffs (${reposts} re-POSTed), ${mails.size} emails (${resent} re-sent)`,
    );
  }, 180_000);
});
