/**
 * What an error may say about a remote's answer: its codes and a fixed phrase, never its text. A
 * CRM's 400 body or a mail server's reply often quotes the lead's address, and an error message
 * travels far: into Temporal's history (as the activity's failure), the worker's log ("Activity
 * failed"), the workflow's own log line.
 */
import { STATUS_CODES } from 'node:http';

/** An HTTP answer: its status alone. */
export interface HttpReply {
  status: number;
}

/** The codes of a mail server's reply (or of a failure before any reply), without its text. */
export interface SmtpReply {
  /** The reply code, e.g. 550; null when no reply came (connection, timeout). */
  responseCode: number | null;
  /** RFC 3463's enhanced status code, e.g. 5.1.1, when the reply has one. */
  enhancedCode: string | null;
  /** The command refused (`RCPT TO`, `DATA`...): a fixed verb, never its argument. */
  command: string | null;
  /** nodemailer's error code (EENVELOPE, ECONNECTION, EAUTH...), and the system's below it. */
  code: string | null;
}

/** `answered 400 (bad request)`, or `550 5.1.1 at RCPT TO`, or `ECONNECTION (ECONNREFUSED)`. */
export function summariseReply(reply: HttpReply | SmtpReply): string {
  if ('status' in reply) {
    const phrase = STATUS_CODES[reply.status]?.toLowerCase();
    return `answered ${reply.status}${phrase ? ` (${phrase})` : ''}`;
  }
  const parts = [
    reply.responseCode === null ? (reply.code ?? 'no reply') : String(reply.responseCode),
    reply.enhancedCode,
    reply.command ? `at ${reply.command}` : null,
  ];
  return parts.filter(Boolean).join(' ');
}

const word = (value: unknown, pattern: RegExp): string | null =>
  typeof value === 'string' && pattern.test(value) ? value : null;

/**
 * The codes of a nodemailer error. Its `message`, `response`, `rejected` and `rejectedErrors` hold the
 * server's text and the recipients: none of them is kept.
 */
export function smtpReplyOf(err: unknown): SmtpReply {
  const e = (err ?? {}) as {
    responseCode?: unknown;
    response?: unknown;
    command?: unknown;
    code?: unknown;
    originalCode?: unknown;
  };
  const responseCode =
    typeof e.responseCode === 'number' && Number.isInteger(e.responseCode) ? e.responseCode : null;
  const enhanced =
    typeof e.response === 'string' ? /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})(?:\s|$)/.exec(e.response) : null;
  const code = word(e.code, /^E[A-Z]{1,20}$/);
  const below = word(e.originalCode, /^E[A-Z]{1,20}$/);
  return {
    responseCode,
    enhancedCode: enhanced?.[1] ?? null,
    command: word(e.command, /^[A-Z][A-Z0-9 -]{0,23}$/),
    code: code && below && below !== code ? `${code} (${below})` : code,
  };
}
