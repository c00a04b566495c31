import { describe, expect, it } from 'vitest';
import { signPayload, verifySignature } from '../../src/activities/index.js';

const SECRET = 'whsec_0123456789abcdef';
const BODY = JSON.stringify({ type: 'sales.handoff', id: 'wf-1#3' });
const NOW = Date.UTC(2025, 0, 15, 9, 30);
const T = Math.floor(NOW / 1000);

describe('verifySignature', () => {
  it('accepts what signPayload signed, within the tolerance either way', () => {
    const header = signPayload(SECRET, BODY, T);
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifySignature(SECRET, header, BODY, { now: NOW })).toEqual({ ok: true, timestamp: T });
    expect(verifySignature(SECRET, header, Buffer.from(BODY), { now: NOW + 299_000 }).ok).toBe(true);
    expect(verifySignature(SECRET, header, BODY, { now: NOW - 299_000 }).ok).toBe(true);
  });

  it('rejects a tampered body', () => {
    const header = signPayload(SECRET, BODY, T);
    const tampered = BODY.replace('wf-1#3', 'wf-1#4');
    expect(verifySignature(SECRET, header, tampered, { now: NOW })).toMatchObject({
      ok: false,
      code: 'mismatch',
    });
  });

  it('rejects a wrong secret', () => {
    const header = signPayload('another-secret-of-16+', BODY, T);
    expect(verifySignature(SECRET, header, BODY, { now: NOW })).toMatchObject({
      ok: false,
      code: 'mismatch',
    });
  });

  it('rejects a stale or a far-future timestamp, even when correctly signed', () => {
    const header = signPayload(SECRET, BODY, T);
    expect(verifySignature(SECRET, header, BODY, { now: NOW + 301_000 })).toMatchObject({
      ok: false,
      code: 'stale',
    });
    expect(verifySignature(SECRET, header, BODY, { now: new Date(NOW - 301_000) })).toMatchObject({
      ok: false,
      code: 'stale',
    });
    expect(verifySignature(SECRET, header, BODY, { now: NOW + 3_600_000, toleranceSeconds: 7200 }).ok).toBe(
      true,
    );
  });

  it('rejects a timestamp changed without re-signing (the timestamp is signed too)', () => {
    const [, v1] = signPayload(SECRET, BODY, T).split(',');
    expect(verifySignature(SECRET, `t=${T + 1},${v1}`, BODY, { now: NOW })).toMatchObject({
      code: 'mismatch',
    });
  });

  it('rejects malformed headers without throwing', () => {
    for (const header of [
      undefined,
      null,
      '',
      'garbage',
      `t=${T}`,
      'v1=abc',
      `t=soon,v1=${'a'.repeat(64)}`,
    ]) {
      expect(verifySignature(SECRET, header, BODY, { now: NOW })).toMatchObject({
        ok: false,
        code: 'malformed',
      });
    }
  });

  it('accepts any of several v1 signatures, for secret rotation', () => {
    const old = signPayload('the-old-secret-0000', BODY, T).split(',')[1];
    const current = signPayload(SECRET, BODY, T);
    expect(verifySignature(SECRET, `${current}, ${old}`, BODY, { now: NOW }).ok).toBe(true);
    expect(verifySignature('the-old-secret-0000', `${current},${old}`, BODY, { now: NOW }).ok).toBe(true);
  });
});
