import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ContentDelivery } from '../../src/activities/email.js';
import {
  Outbox,
  PermanentFailure,
  readOutbox,
  SmtpSender,
  SmtpUnavailableError,
  unsubscribeLinkFor,
} from '../../src/activities/index.js';
import { contentSend, startSmtpServer, tempDir } from './helpers.js';

const UNSUBSCRIBE = { baseUrl: 'https://leads.acme.example', secret: 'unsub-0123456789abcdef' };
const MAIL = {
  from: 'Acme Marketing <marketing@acme.example>',
  unsubscribeUrl: null,
  unsubscribeLink: UNSUBSCRIBE,
};
const WORKFLOW_ID = 'lead-0123456789abcdef0123456789abcdef';

const delivery = (key: string, email = 'ada@lead.example'): ContentDelivery => ({
  key,
  workflowId: WORKFLOW_ID,
  leadKey: 'acme/ada@lead.example',
  to: { email, firstName: 'Ada', lastName: 'Lovelace' },
  content: contentSend(),
});

let dir: string;
let cleanup: () => Promise<void>;
let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
let outbox: Outbox;
let sender: SmtpSender;

async function setup(options: Parameters<typeof startSmtpServer>[0] = {}) {
  smtp = await startSmtpServer(options);
  sender = new SmtpSender(outbox, MAIL, { url: smtp.url, timeoutMs: 5000 });
}

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  outbox = new Outbox(dir);
});
afterEach(async () => {
  await sender?.close();
  await outbox.close();
  await smtp?.close();
  await cleanup();
});

describe('SmtpSender on a real SMTP server', () => {
  it('sends the content email with a Message-ID derived from the key, the one-click unsubscribe and the title', async () => {
    await setup();
    const result = await sender.send(delivery('lead:acme:ada@lead.example#7'));

    expect(result.delivered).toBe(true);
    expect(result.messageId).toMatch(/^<lc\.[0-9a-f]{32}@acme\.example>$/);
    expect(smtp.received).toHaveLength(1);
    const [mail] = smtp.received;
    expect(mail?.from).toBe('marketing@acme.example');
    expect(mail?.to).toEqual(['ada@lead.example']);
    expect(mail?.headers.get('message-id')).toBe(result.messageId);
    expect(mail?.headers.get('subject')).toBe('Evaluation guide #2');
    expect(mail?.headers.get('list-unsubscribe')).toBe(`<${unsubscribeLinkFor(UNSUBSCRIBE, WORKFLOW_ID)}>`);
    expect(mail?.headers.get('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(mail?.headers.get('to')).toBe('Ada Lovelace <ada@lead.example>');
    expect(mail?.raw).toContain('https://example.com/content/evaluation-2');

    // The same key gives the same ID in another process too: it depends on the key and the domain only.
    const otherOutbox = new Outbox(join(dir, 'other-worker'));
    const again = new SmtpSender(otherOutbox, MAIL, { url: smtp.url });
    const second = await again.send(delivery('lead:acme:ada@lead.example#7'));
    await again.close();
    await otherOutbox.close();
    expect(second.messageId).toBe(result.messageId);
    expect(smtp.received[1]?.headers.get('message-id')).toBe(result.messageId);
  });

  it('sends the template link instead when LEADCYCLE_UNSUBSCRIBE_URL is set, without one-click', async () => {
    await setup();
    const template = new SmtpSender(
      outbox,
      { ...MAIL, unsubscribeUrl: 'https://acme.example/unsubscribe?lead={leadKey}' },
      { url: smtp.url, timeoutMs: 5000 },
    );
    await template.send(delivery('wf#9'));
    await template.close();
    const [mail] = smtp.received;
    expect(mail?.headers.get('list-unsubscribe')).toBe(
      '<https://acme.example/unsubscribe?lead=acme%2Fada%40lead.example>',
    );
    expect(mail?.headers.has('list-unsubscribe-post')).toBe(false);
  });

  it('sends once per key: a retry after a success sends nothing, also when both attempts overlap', async () => {
    await setup();
    const first = await sender.send(delivery('wf#1'));
    const retry = await sender.send(delivery('wf#1'));
    expect(retry).toEqual({ delivered: false, messageId: first.messageId });

    const overlapping = await Promise.all([sender.send(delivery('wf#2')), sender.send(delivery('wf#2'))]);
    expect(overlapping.map((r) => r.delivered).sort()).toEqual([false, true]);

    expect(smtp.received).toHaveLength(2);
    const records = await readOutbox(dir, { kind: 'email' });
    expect(records.map((r) => r.key)).toEqual(['wf#1', 'wf#2']);
    expect(records[0]?.payload).toMatchObject({
      via: 'smtp',
      messageId: first.messageId,
      accepted: ['ada@lead.example'],
    });
  });

  it('fails for good when the server refuses the recipient, with the reply codes only, and records nothing', async () => {
    await setup({
      onRcptTo(address, _session, callback) {
        if (address.address.startsWith('nobody')) {
          // Servers often quote the address: the error must not.
          callback(
            Object.assign(new Error(`5.1.1 <${address.address}>: no such user`), { responseCode: 550 }),
          );
        } else callback();
      },
    });
    const error = await sender.send(delivery('wf#3', 'nobody@lead.example')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentFailure);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect(error).toMatchObject({
      code: 'recipient_invalid',
      type: 'recipient_invalid',
      nonRetryable: true,
      message: 'the mail server refused the recipient: 550 5.1.1 at RCPT TO',
      details: [{ responseCode: 550, enhancedCode: '5.1.1', command: 'RCPT TO' }],
    });
    expect(JSON.stringify({ ...(error as PermanentFailure), stack: (error as Error).stack })).not.toContain(
      'nobody',
    );
    expect(await readOutbox(dir)).toEqual([]);
  });

  it('retries a temporary refusal (4xx), and the retry delivers', async () => {
    let attempts = 0;
    await setup({
      onData(stream, _session, callback) {
        stream.resume();
        stream.on('end', () => {
          attempts += 1;
          if (attempts === 1) callback(Object.assign(new Error('4.3.0 try later'), { responseCode: 451 }));
          else callback();
        });
      },
    });
    const error = await sender.send(delivery('wf#4')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmtpUnavailableError);
    // Retryable: an ApplicationFailure Temporal retries (it could carry a nextRetryDelay).
    expect(error).toMatchObject({ type: 'SmtpUnavailableError', nonRetryable: false });
    expect((error as Error).message).toBe('sending through SMTP failed: 451 4.3.0 at DATA');
    // No `cause`: nodemailer's error holds the server's text and the recipients.
    expect((error as Error).cause).toBeUndefined();
    expect(await sender.send(delivery('wf#4'))).toMatchObject({ delivered: true });
    expect(attempts).toBe(2);
  });

  it('treats bad credentials and an unreachable server as retryable (a worker fix lets the retry through)', async () => {
    await setup();
    const badAuth = new SmtpSender(outbox, MAIL, { url: smtp.url.replace('s3cret', 'wrong') });
    await expect(badAuth.send(delivery('wf#5'))).rejects.toMatchObject({
      code: 'smtp_unavailable',
      smtpCode: 'EAUTH',
    });
    await badAuth.close();

    await smtp.close();
    const down = await sender.send(delivery('wf#5')).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(SmtpUnavailableError);
    // Codes still say what happened, without the server's text.
    expect((down as Error).message).toMatch(/^sending through SMTP failed: E[A-Z]+ \(ECONNREFUSED\)/);
  });
});
