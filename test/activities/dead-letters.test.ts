/** Dead letters at the activity: what they keep, what they leave out, a disk that refuses them, erasure. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createActivities,
  DEAD_LETTERS_FILE,
  DeadLetterUnwritableError,
  Outbox,
  OutboxSender,
  PermanentFailure,
  readDeadLetters,
  readOutbox,
  SmtpSender,
  WebhookCrm,
} from '../../src/activities/index.js';
import { type AnalyticsStore, openAnalyticsStore } from '../../src/analytics/index.js';
import {
  contentSend,
  handoffLead,
  salesHandoff,
  startHttpServer,
  startSmtpServer,
  tempDir,
} from './helpers.js';

const MAIL = { from: 'Acme Marketing <marketing@acme.example>', unsubscribeUrl: null, unsubscribeLink: null };
const LEAD = 'acme:email:ada@acme.example';

let dir: string;
let cleanup: () => Promise<void>;
let outbox: Outbox;
let analytics: AnalyticsStore;
let http: Awaited<ReturnType<typeof startHttpServer>> | undefined;
let smtp: Awaited<ReturnType<typeof startSmtpServer>> | undefined;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  outbox = new Outbox(dir);
  analytics = openAnalyticsStore(dir);
});
afterEach(async () => {
  await http?.close();
  await smtp?.close();
  http = undefined;
  smtp = undefined;
  await analytics.close();
  await outbox.close();
  await cleanup();
});

/** A CRM that refuses every handoff with 422 and a body naming the lead. */
async function refusingCrm() {
  http = await startHttpServer((_req, res) =>
    res.writeHead(422).end('{"error":"ada@acme.example already owned by rep 7"}'),
  );
  const crm = new WebhookCrm(outbox, { url: http.url, secret: 'whsec_dead_letters_0123456789' });
  return createActivities({ outbox, sender: new OutboxSender(outbox, MAIL), crm, analytics });
}

const handoffInput = (seq: number) => ({
  idempotencyKey: `wf-ada/${seq}`,
  workflowId: 'wf-ada',
  leadKey: LEAD,
  lead: handoffLead,
  handoff: salesHandoff(),
});

describe('dead letters', () => {
  it('a CRM refusal leaves one dead letter: the status, not the reply body; the input to deliver it again', async () => {
    const activities = await refusingCrm();
    const error = await activities.handOffToSales(handoffInput(4)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentFailure);
    // A second failure of the same key (a retry from the CLI) keeps one letter.
    await activities.handOffToSales(handoffInput(4)).catch(() => {});

    const letters = await readDeadLetters(dir);
    expect(letters).toEqual([
      {
        key: 'wf-ada/4',
        kind: 'crm',
        at: expect.any(String),
        workflowId: 'wf-ada',
        leadKey: LEAD,
        code: 'crm_rejected',
        reason: 'HTTP 422 Unprocessable Entity',
        attempts: 0, // outside Temporal: no attempt count
        input: handoffInput(4),
      },
    ]);
    expect(JSON.stringify(letters)).not.toContain('rep 7');
    expect(await readOutbox(dir)).toEqual([]);
  });

  it('a recipient the mail server refuses: the SMTP code and enhanced status, not the reply line', async () => {
    smtp = await startSmtpServer({
      onRcptTo(_address, _session, callback) {
        callback(
          Object.assign(new Error('5.1.1 <nobody@acme.example>: no such user'), {
            responseCode: 550,
            response: '550 5.1.1 <nobody@acme.example>: no such user',
            command: 'RCPT TO',
          }),
        );
      },
    });
    const sender = new SmtpSender(outbox, MAIL, { url: smtp.url, timeoutMs: 5000 });
    const activities = createActivities({
      outbox,
      sender,
      crm: new WebhookCrm(outbox, { url: 'http://127.0.0.1:9/', secret: 'x'.repeat(16) }),
      analytics,
    });
    const input = {
      idempotencyKey: 'wf-nobody/2',
      workflowId: 'wf-nobody',
      leadKey: 'acme:email:nobody@acme.example',
      to: { email: 'nobody@acme.example' },
      content: contentSend(),
    };
    await expect(activities.sendContent(input)).rejects.toMatchObject({ code: 'recipient_invalid' });
    await sender.close();
    const [letter] = await readDeadLetters(dir, { kind: 'email' });
    expect(letter).toMatchObject({ key: 'wf-nobody/2', code: 'recipient_invalid', reason: 'SMTP 550 5.1.1' });
  });

  it('a dead letter the disk refuses turns the failure retryable: the delivery is tried again, not dropped', async () => {
    await mkdir(join(dir, DEAD_LETTERS_FILE)); // a directory where the file goes: every write fails
    const activities = await refusingCrm();
    const error = await activities.handOffToSales(handoffInput(5)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DeadLetterUnwritableError);
    expect(error).toMatchObject({ code: 'dead_letter_unwritable', nonRetryable: false });
    expect((error as Error).message).toContain('HTTP 422');
  });

  it("are erased with the lead (forget), other leads' kept", async () => {
    const activities = await refusingCrm();
    await activities.handOffToSales(handoffInput(6)).catch(() => {});
    await activities
      .handOffToSales({ ...handoffInput(7), workflowId: 'wf-bob', leadKey: 'acme:email:bob@acme.example' })
      .catch(() => {});
    expect(await outbox.forget(LEAD)).toEqual({ removed: 1 });
    expect((await readDeadLetters(dir)).map((l) => l.leadKey)).toEqual(['acme:email:bob@acme.example']);
  });
});
