import {
  DefaultFailureConverter,
  defaultPayloadConverter,
  ensureApplicationFailure,
} from '@temporalio/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Handoff } from '../../src/activities/crm.js';
import {
  CrmUnavailableError,
  Outbox,
  PermanentFailure,
  readOutbox,
  retryAfterOf,
  verifySignature,
  WebhookCrm,
} from '../../src/activities/index.js';
import { handoffLead, salesHandoff, startHttpServer, tempDir } from './helpers.js';

const SECRET = 'whsec_test_0123456789';

const handoff = (key: string): Handoff => ({
  key,
  workflowId: 'lead:acme:ada@acme.example',
  leadKey: 'acme/ada@acme.example',
  lead: handoffLead,
  handoff: salesHandoff(),
});

let dir: string;
let cleanup: () => Promise<void>;
let outbox: Outbox;
let http: Awaited<ReturnType<typeof startHttpServer>>;

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
  outbox = new Outbox(dir);
});
afterEach(async () => {
  await http?.close();
  await outbox.close();
  await cleanup();
});

const crm = (timeoutMs?: number) => new WebhookCrm(outbox, { url: http.url, secret: SECRET, timeoutMs });
/** What an activity worker reports to the server for a thrown error (as @temporalio/worker does). */
const failureInfo = (err: unknown) =>
  new DefaultFailureConverter().errorToFailure(ensureApplicationFailure(err), defaultPayloadConverter)
    .applicationFailureInfo;

describe('WebhookCrm on a real HTTP server', () => {
  it('posts signed JSON that verifySignature accepts, once per key', async () => {
    const checks: unknown[] = [];
    http = await startHttpServer((req, res) => {
      checks.push(verifySignature(SECRET, req.headers['leadcycle-signature'] as string, req.body));
      res.writeHead(202).end();
    });
    expect(await crm().handOff(handoff('wf#9'))).toEqual({ delivered: true });
    expect(await crm().handOff(handoff('wf#9'))).toEqual({ delivered: false });

    expect(http.received).toHaveLength(1);
    const [req] = http.received;
    expect(req?.method).toBe('POST');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers['idempotency-key']).toBe('wf#9');
    expect(checks).toEqual([{ ok: true, timestamp: expect.any(Number) }]);
    expect(JSON.parse(req?.body ?? '')).toEqual({
      type: 'sales.handoff',
      id: 'wf#9',
      workflowId: 'lead:acme:ada@acme.example',
      leadKey: 'acme/ada@acme.example',
      lead: handoffLead,
      handoff: salesHandoff(),
    });
    const [record] = await readOutbox(dir, { kind: 'crm' });
    expect(record).toMatchObject({ key: 'wf#9', payload: { via: 'webhook', status: 202, url: http.url } });
  });

  it('a 500 is retryable and records nothing; the retry delivers', async () => {
    let calls = 0;
    http = await startHttpServer((_req, res) => res.writeHead(++calls === 1 ? 500 : 200).end('boom'));
    const error = await crm()
      .handOff(handoff('wf#10'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrmUnavailableError);
    expect(error).toMatchObject({ code: 'crm_unavailable', status: 500 });
    expect(failureInfo(error)).toMatchObject({ type: 'CrmUnavailableError', nonRetryable: false });
    expect(await readOutbox(dir)).toEqual([]);

    expect(await crm().handOff(handoff('wf#10'))).toEqual({ delivered: true });
    expect(calls).toBe(2);
  });

  it('a 400 is a non-retryable ApplicationFailure carrying the status, not the answer (it may quote the lead)', async () => {
    http = await startHttpServer((_req, res) =>
      res.writeHead(400).end('{"error":"duplicate contact ada@acme.example"}'),
    );
    const error = await crm()
      .handOff(handoff('wf#11'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentFailure);
    expect(error).toMatchObject({ code: 'crm_rejected', nonRetryable: true, details: [{ status: 400 }] });
    expect((error as Error).message).toBe(`CRM webhook ${http.url} answered 400 (bad request)`);
    expect(JSON.stringify({ ...(error as PermanentFailure), stack: (error as Error).stack })).not.toContain(
      'ada@',
    );
    // What Temporal sends to the server: non-retryable, typed by the code.
    expect(failureInfo(error)).toMatchObject({ type: 'crm_rejected', nonRetryable: true });
    expect(await readOutbox(dir)).toEqual([]);
  });

  it('401, 403, 408, 429 and 503 are retryable (a wrong secret is fixed by an operator); Retry-After sets the next delay', async () => {
    const answers: Array<[number, Record<string, string>]> = [
      [401, {}],
      [403, {}],
      [408, {}],
      [429, { 'Retry-After': '120' }],
      [503, { 'Retry-After': new Date(Date.now() + 30_000).toUTCString() }],
    ];
    http = await startHttpServer((_req, res) => {
      const [status, headers] = answers.shift() ?? [200, {}];
      res.writeHead(status, headers).end('{"error":"no"}');
    });
    const errors: unknown[] = [];
    for (let i = 0; i < 5; i++)
      errors.push(
        await crm()
          .handOff(handoff('wf#12'))
          .catch((e: unknown) => e),
      );
    expect(errors.map((e) => (e as CrmUnavailableError).status)).toEqual([401, 403, 408, 429, 503]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(CrmUnavailableError);
      expect(failureInfo(error)).toMatchObject({ type: 'CrmUnavailableError', nonRetryable: false });
    }
    expect(failureInfo(errors[0])?.nextRetryDelay).toBeFalsy();
    expect(failureInfo(errors[3])?.nextRetryDelay).toMatchObject({ seconds: expect.anything() });
    expect(Number(failureInfo(errors[3])?.nextRetryDelay?.seconds)).toBe(120);
    const httpDate = Number(failureInfo(errors[4])?.nextRetryDelay?.seconds);
    expect(httpDate).toBeGreaterThan(20);
    expect(httpDate).toBeLessThanOrEqual(30);
    expect(await readOutbox(dir)).toEqual([]);
    expect(await crm().handOff(handoff('wf#12'))).toEqual({ delivered: true });
    expect(http.received).toHaveLength(6);
  });

  it('retryAfterOf reads delay-seconds and HTTP dates, and ignores what it cannot read', () => {
    const now = Date.UTC(2025, 0, 1);
    expect(retryAfterOf(null, now)).toBeUndefined();
    expect(retryAfterOf('soon', now)).toBeUndefined();
    expect(retryAfterOf('7', now)).toBe(7000);
    expect(retryAfterOf(new Date(now + 90_000).toUTCString(), now)).toBe(90_000);
    expect(retryAfterOf(new Date(now - 90_000).toUTCString(), now)).toBe(0);
    expect(retryAfterOf('99999999', now)).toBe(24 * 3600_000);
  });

  it('a CRM that does not answer in time is retryable', async () => {
    http = await startHttpServer(() => {}); // never answers
    const error = await crm(200)
      .handOff(handoff('wf#13'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrmUnavailableError);
    expect(error).toMatchObject({ status: null });
    expect((error as Error).message).toContain('no answer in 200 ms');
  });

  it('an unreachable CRM is retryable', async () => {
    http = await startHttpServer();
    const { url } = http;
    await http.close();
    const error = await new WebhookCrm(outbox, { url, secret: SECRET })
      .handOff(handoff('wf#14'))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CrmUnavailableError);
    expect((error as Error).message).toContain('ECONNREFUSED');
  });
});
