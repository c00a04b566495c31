/**
 * The one-click unsubscribe link of every marketing email: `<base>/v1/unsubscribe/<workflow id>?token=`,
 * the token an HMAC-SHA256 of the workflow id (base64url). The workflow id is a hash of the lead key,
 * so the link names nobody; the token makes it unguessable, so nobody unsubscribes someone else.
 * The API (src/api/unsubscribe.ts) verifies it with the same secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface UnsubscribeLinkSettings {
  /** Where recipients reach the API, e.g. `https://leads.acme.example` (a path prefix is kept). */
  baseUrl: string;
  /** LEADCYCLE_UNSUBSCRIBE_SECRET: the API must hold the same one. */
  secret: string;
}

export function unsubscribeToken(secret: string, workflowId: string): string {
  return createHmac('sha256', secret).update(workflowId, 'utf8').digest('base64url');
}

/** Constant time in the token's content; its length is no secret (every token has 43 characters). */
export function verifyUnsubscribeToken(secret: string, workflowId: string, token: string): boolean {
  const expected = Buffer.from(unsubscribeToken(secret, workflowId), 'utf8');
  const given = Buffer.from(token, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function unsubscribeLinkFor(settings: UnsubscribeLinkSettings, workflowId: string): string {
  const base = settings.baseUrl.replace(/\/+$/, '');
  const token = unsubscribeToken(settings.secret, workflowId);
  return `${base}/v1/unsubscribe/${encodeURIComponent(workflowId)}?token=${token}`;
}
