/**
 * Content delivery (nurture emails, newsletters): to the outbox by default, or over SMTP.
 */
import nodemailer, { type NodemailerError, type SMTPSentMessageInfo, type Transporter } from 'nodemailer';
import { z } from 'zod';
import { EMAIL_SKIP_REASONS, type Suppression } from '../analytics/records.js';
import {
  type ContentDelivery,
  type ContentEmail,
  composeContentEmail,
  type MailSettings,
  messageIdFor,
} from './email.js';
import { PermanentFailure, SmtpUnavailableError } from './errors.js';
import type { Outbox, OutboxRecord } from './outbox.js';
import { smtpReplyOf, summariseReply } from './remote-reply.js';

/**
 * Why an email was not sent: the address is on its tenant's suppression list, the lead's own
 * consent was withdrawn after the email was queued (`unsubscribed`), or the recipient already got the
 * cap's worth of emails in the window on real send times (`email_cap`: late deliveries after an outage).
 */
export type SkipReason = Suppression['reason'] | 'unsubscribed' | 'email_cap';

export interface SendResult {
  /** false when this key was done before, or when nothing was sent (`skipped`). */
  delivered: boolean;
  /** The same for every attempt of one key, skipped or not. */
  messageId: string;
  /** Why nothing was sent: the address is on its tenant's suppression list. */
  skipped?: SkipReason;
}

export interface ContentSender {
  readonly via: 'outbox' | 'smtp';
  send(delivery: ContentDelivery): Promise<SendResult>;
  /** Sends nothing: records under the delivery's key that it was skipped, and why. */
  skip(delivery: ContentDelivery, reason: SkipReason): Promise<SendResult>;
  close(): Promise<void>;
}

/**
 * The skip, once per key like a delivery, so an operator sees it in the outbox. Without the address:
 * the person asked not to be mailed, or was erased.
 */
async function recordSkip(
  outbox: Outbox,
  mail: MailSettings,
  delivery: ContentDelivery,
  reason: SkipReason,
): Promise<SendResult> {
  const messageId = messageIdFor(delivery.key, mail.from);
  await outbox.deliverOnce(
    { key: delivery.key, kind: 'email.skipped', workflowId: delivery.workflowId, leadKey: delivery.leadKey },
    async () => ({ reason, content: delivery.content, messageId }),
  );
  return { delivered: false, skipped: reason, messageId };
}

const SkippedPayloadSchema = z.object({ reason: z.enum(EMAIL_SKIP_REASONS) });

/** Why an outbox record says its email was skipped; null for an email that went out. */
export function skipReasonOf(record: OutboxRecord): SkipReason | null {
  if (record.kind !== 'email.skipped') return null;
  return SkippedPayloadSchema.parse(record.payload).reason;
}

/** What the outbox keeps of an email: enough for the CLI to show what was (or would have been) sent. */
function emailPayload(via: 'outbox' | 'smtp', delivery: ContentDelivery, email: ContentEmail) {
  return { via, content: delivery.content, ...email };
}

/** The embedded default: the outbox record is the delivery. */
export class OutboxSender implements ContentSender {
  readonly via = 'outbox';

  constructor(
    private readonly outbox: Outbox,
    private readonly mail: MailSettings,
  ) {}

  async send(delivery: ContentDelivery): Promise<SendResult> {
    const email = composeContentEmail(delivery, this.mail);
    const { delivered } = await this.outbox.deliverOnce(
      { key: delivery.key, kind: 'email', workflowId: delivery.workflowId, leadKey: delivery.leadKey },
      async () => emailPayload('outbox', delivery, email),
    );
    return { delivered, messageId: email.messageId };
  }

  skip(delivery: ContentDelivery, reason: SkipReason): Promise<SendResult> {
    return recordSkip(this.outbox, this.mail, delivery, reason);
  }

  async close(): Promise<void> {}
}

export interface SmtpSettings {
  /** `smtp://user:pass@host:587` (STARTTLS when offered) or `smtps://...:465`. */
  url: string;
  /** Connection, greeting and idle-socket timeout; nodemailer's defaults (up to 10 min) outlast an activity. */
  timeoutMs?: number;
}

/** Sends through a mail server, and notes each delivered key in the outbox so a retry sends nothing. */
export class SmtpSender implements ContentSender {
  readonly via = 'smtp';
  readonly #transport: Transporter<SMTPSentMessageInfo>;

  constructor(
    private readonly outbox: Outbox,
    private readonly mail: MailSettings,
    smtp: SmtpSettings,
  ) {
    const timeout = smtp.timeoutMs ?? 30_000;
    this.#transport = nodemailer.createTransport({
      url: smtp.url,
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout,
    });
  }

  async send(delivery: ContentDelivery): Promise<SendResult> {
    const email = composeContentEmail(delivery, this.mail);
    const { delivered } = await this.outbox.deliverOnce(
      { key: delivery.key, kind: 'email', workflowId: delivery.workflowId, leadKey: delivery.leadKey },
      async () => {
        const info = await this.#transport.sendMail(email).catch((err: unknown) => {
          throw smtpFailure(err);
        });
        return { ...emailPayload('smtp', delivery, email), response: info.response, accepted: info.accepted };
      },
    );
    return { delivered, messageId: email.messageId };
  }

  skip(delivery: ContentDelivery, reason: SkipReason): Promise<SendResult> {
    return recordSkip(this.outbox, this.mail, delivery, reason);
  }

  async close(): Promise<void> {
    this.#transport.close();
  }
}

/**
 * A refusal of this message (5xx) is permanent; anything about the connection or our credentials is
 * retryable, because fixing the worker's configuration lets the retry through. The error keeps the
 * reply's codes only: the server's text (and nodemailer's message, and its `cause`) names the recipient.
 */
export function smtpFailure(err: unknown): Error {
  const e = err as Partial<NodemailerError>;
  const reply = smtpReplyOf(err);
  const summary = summariseReply(reply);
  const details = {
    responseCode: reply.responseCode,
    enhancedCode: reply.enhancedCode,
    command: reply.command,
  };
  if (e.permanent === true && e.code !== 'EAUTH') {
    const recipient = e.command?.toUpperCase().startsWith('RCPT') ?? false;
    return recipient
      ? new PermanentFailure(
          'recipient_invalid',
          `the mail server refused the recipient: ${summary}`,
          details,
        )
      : new PermanentFailure('smtp_rejected', `the mail server refused the message: ${summary}`, details);
  }
  return new SmtpUnavailableError(`sending through SMTP failed: ${summary}`, e.code);
}
