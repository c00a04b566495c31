/** The signed one-click unsubscribe link: its token, and its place in every marketing email. */
import { describe, expect, it } from 'vitest';
import {
  activitiesFromEnv,
  composeContentEmail,
  readOutbox,
  unsubscribeLinkFor,
  unsubscribeToken,
  verifyUnsubscribeToken,
} from '../../src/activities/index.js';
import { LeadClient } from '../../src/client/index.js';
import { contentSend, tempDir } from './helpers.js';

const SECRET = 'unsub-0123456789abcdef';
const ref = { tenant: 'acme', email: 'ada@lead.example' };
const { leadKey, workflowId } = LeadClient.keyOf(ref);

describe('the unsubscribe token', () => {
  it('is the base64url HMAC-SHA256 of the workflow id, checked against any alteration', () => {
    const token = unsubscribeToken(SECRET, workflowId);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(verifyUnsubscribeToken(SECRET, workflowId, token)).toBe(true);

    const other = LeadClient.keyOf({ tenant: 'acme', email: 'grace@lead.example' }).workflowId;
    const flipped = `${token.slice(0, 10)}${token[10] === 'A' ? 'B' : 'A'}${token.slice(11)}`;
    for (const [id, candidate] of [
      [other, token], // another lead's link
      [workflowId, flipped],
      [workflowId, token.slice(0, -1)],
      [workflowId, `${token}A`],
      [workflowId, ''],
      [workflowId, unsubscribeToken('another-secret-0123456789', workflowId)],
    ] as const) {
      expect(verifyUnsubscribeToken(SECRET, id, candidate), candidate).toBe(false);
    }
  });

  it('makes a link to the API that names no one', () => {
    const link = unsubscribeLinkFor(
      { baseUrl: 'https://leads.acme.example/lc/', secret: SECRET },
      workflowId,
    );
    expect(link).toBe(
      `https://leads.acme.example/lc/v1/unsubscribe/${workflowId}?token=${unsubscribeToken(SECRET, workflowId)}`,
    );
    expect(link).not.toMatch(/ada|lead\.example|acme:/);
  });
});

describe('every marketing email', () => {
  const delivery = (kind: 'nurture' | 'newsletter') => ({
    key: `${workflowId}/3`,
    workflowId,
    leadKey,
    to: { email: 'ada@lead.example', firstName: 'Ada' },
    content: contentSend({ kind }),
  });
  const unsubscribeLink = { baseUrl: 'http://127.0.0.1:3000', secret: SECRET };
  const link = unsubscribeLinkFor(unsubscribeLink, workflowId);

  it('carries the signed link in text and HTML, and the RFC 2369 and RFC 8058 headers', () => {
    for (const kind of ['nurture', 'newsletter'] as const) {
      const email = composeContentEmail(delivery(kind), {
        from: 'a@acme.example',
        unsubscribeUrl: null,
        unsubscribeLink,
      });
      expect(email.text).toContain(`Unsubscribe: ${link}`);
      expect(email.html).toContain(`<a href="${link}">Unsubscribe</a>`);
      expect(email.headers).toEqual({
        'List-Unsubscribe': `<${link}>`,
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      });
    }
  });

  it('shows the link in the local outbox, which keeps the composed email', async () => {
    const { dir, cleanup } = await tempDir();
    const wired = activitiesFromEnv({ LEADCYCLE_DATA_DIR: dir, LEADCYCLE_UNSUBSCRIBE_SECRET: SECRET });
    try {
      await wired.activities.sendContent({ ...delivery('nurture'), idempotencyKey: `${workflowId}/3` });
      const [record] = await readOutbox(dir, { kind: 'email' });
      expect(record?.payload).toMatchObject({
        text: expect.stringContaining(link),
        html: expect.stringContaining(link),
        headers: { 'List-Unsubscribe': `<${link}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
      });
    } finally {
      await wired.close();
      await cleanup();
    }
  });
});
