/**
 * The content email: what both senders deliver, so the outbox shows exactly what SMTP would send.
 */
import { createHash } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import type { Effect } from '../machines/index.js';
import { type UnsubscribeLinkSettings, unsubscribeLinkFor } from './unsubscribe-link.js';

export interface Recipient {
  email: string;
  firstName?: string;
  lastName?: string;
}

export interface ContentDelivery {
  key: string;
  workflowId: string;
  leadKey: string;
  to: Recipient;
  content: Extract<Effect, { type: 'content.send' }>;
}

export interface MailSettings {
  /** `Name <address>` or a bare address. */
  from: string;
  /**
   * LEADCYCLE_UNSUBSCRIBE_URL: a template with `{leadKey}` for an unsubscribe page of your own; it
   * wins over the signed link. Mind that the lead key holds the address.
   */
  unsubscribeUrl: string | null;
  /** The signed one-click link to this API (src/activities/unsubscribe-link.ts). */
  unsubscribeLink: UnsubscribeLinkSettings | null;
}

export interface ContentEmail {
  messageId: string;
  from: string;
  to: { name: string; address: string };
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
}

/** The address part of `Name <address>` (or of a bare address), or null when there is none. */
export function mailboxAddress(from: string): string | null {
  const [first] = addressparser(from, { flatten: true });
  return first?.address ? first.address : null;
}

/**
 * A Message-ID that depends only on the idempotency key and the sender's domain, so every retry of one
 * delivery carries the same ID and a mail server or client can drop the duplicates. Hashed because
 * keys may hold characters a Message-ID cannot.
 */
export function messageIdFor(key: string, from: string): string {
  const domain = mailboxAddress(from)?.split('@').pop() || 'leadcycle.invalid';
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 32);
  return `<lc.${hash}@${domain}>`;
}

export function unsubscribeUrlFor(template: string, leadKey: string): string {
  return template.replaceAll('{leadKey}', encodeURIComponent(leadKey));
}

/**
 * The delivery's unsubscribe address, and whether it takes RFC 8058's one-click POST: ours does; a
 * template's page may not (a mailto: cannot), so it gets the RFC 2369 header alone.
 */
function unsubscribeOf(
  delivery: ContentDelivery,
  mail: MailSettings,
): { url: string; oneClick: boolean } | null {
  if (mail.unsubscribeUrl)
    return { url: unsubscribeUrlFor(mail.unsubscribeUrl, delivery.leadKey), oneClick: false };
  if (mail.unsubscribeLink)
    return { url: unsubscribeLinkFor(mail.unsubscribeLink, delivery.workflowId), oneClick: true };
  return null;
}

/** RFC 2369's List-Unsubscribe (mail clients show an unsubscribe button), plus RFC 8058's one-click. */
function unsubscribeHeaders(link: { url: string; oneClick: boolean } | null): Record<string, string> {
  if (!link) return {};
  return {
    'List-Unsubscribe': `<${link.url}>`,
    ...(link.oneClick ? { 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : {}),
  };
}

export function composeContentEmail(delivery: ContentDelivery, mail: MailSettings): ContentEmail {
  const { to, content } = delivery;
  const { title, url } = content.item;
  const name = [to.firstName, to.lastName].filter(Boolean).join(' ');
  const link = unsubscribeOf(delivery, mail);
  const unsubscribe = link?.url ?? null;
  const greeting = to.firstName ? `Hello ${to.firstName},` : 'Hello,';
  const intro =
    content.kind === 'newsletter' ? 'Here is our latest newsletter:' : 'We thought this could help you:';

  const text = [
    greeting,
    '',
    intro,
    title,
    url,
    ...(unsubscribe ? ['', '--', `Unsubscribe: ${unsubscribe}`] : []),
    '',
  ].join('\n');
  const html = [
    `<p>${escapeHtml(greeting)}</p>`,
    `<p>${escapeHtml(intro)}<br><a href="${escapeHtml(url)}">${escapeHtml(title)}</a></p>`,
    ...(unsubscribe ? [`<p><small><a href="${escapeHtml(unsubscribe)}">Unsubscribe</a></small></p>`] : []),
  ].join('\n');

  return {
    messageId: messageIdFor(delivery.key, mail.from),
    from: mail.from,
    to: { name, address: to.email },
    subject: title,
    text,
    html,
    headers: unsubscribeHeaders(link),
  };
}

function escapeHtml(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}
