import { randomBytes } from 'node:crypto';
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Payload } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeadClient } from '../src/client/index.js';
import { AesGcmCodec, CodecError, KEY_ID_METADATA } from '../src/codec/aes-gcm.js';
import { CODEC_KEYS_FILE, loadCodecKeys, loadDataConverter, parseCodecKeys } from '../src/codec/keys.js';
import { detailsOf, startSummary, timerSummary } from '../src/codec/operator-text.js';
import { buildCodecServer } from '../src/codec/server.js';
import { FIT, mqlLead, sqlLead } from './support/lead.js';
import { payloadText } from './support/payloads.js';
import { createDevServerEnv } from './support/temporal.js';
import { type LeadHarness, leadHarness } from './support/workflow.js';

const key = (id: string) => ({ id, key: new Uint8Array(randomBytes(32)) });
const json = (value: unknown): Payload => ({
  metadata: { encoding: new TextEncoder().encode('json/plain') },
  data: new TextEncoder().encode(JSON.stringify(value)),
});
const text = (p: Payload) => new TextDecoder().decode(p.data);

describe('the AES-256-GCM payload codec', () => {
  it('round-trips payloads and leaves nothing readable', async () => {
    const codec = new AesGcmCodec([key('k1')]);
    const [encrypted] = await codec.encode([json({ email: 'ada@acme.example' })]);
    expect(text(encrypted as Payload)).not.toContain('ada@acme.example');
    expect(new TextDecoder().decode(encrypted?.metadata?.[KEY_ID_METADATA])).toBe('k1');
    const [decoded] = await codec.decode([encrypted as Payload]);
    expect(JSON.parse(text(decoded as Payload))).toEqual({ email: 'ada@acme.example' });
  });

  it('rotates keys: new writes use the first key, old payloads still decrypt', async () => {
    const old = key('2025');
    const [before] = await new AesGcmCodec([old]).encode([json('x')]);
    const rotated = new AesGcmCodec([key('2026'), old]);
    expect(rotated.currentKeyId).toBe('2026');
    expect(text((await rotated.decode([before as Payload]))[0] as Payload)).toBe('"x"');
    const [after] = await rotated.encode([json('y')]);
    expect(new TextDecoder().decode(after?.metadata?.[KEY_ID_METADATA])).toBe('2026');
  });

  it('refuses unknown keys and tampered payloads with typed errors', async () => {
    const [encrypted] = await new AesGcmCodec([key('a')]).encode([json('secret')]);
    await expect(new AesGcmCodec([key('b')]).decode([encrypted as Payload])).rejects.toMatchObject({
      code: 'unknown_key',
    });
    const tampered = {
      ...encrypted,
      data: Uint8Array.from(encrypted?.data ?? [], (b, i) => (i === 20 ? b ^ 1 : b)),
    };
    await expect(
      new AesGcmCodec([{ id: 'a', key: new Uint8Array(32) }]).decode([tampered]),
    ).rejects.toBeInstanceOf(CodecError);
  });

  it('passes unencrypted payloads through, so old histories stay readable', async () => {
    const plain = json('hello');
    expect(await new AesGcmCodec([key('k')]).decode([plain])).toEqual([plain]);
  });

  it('leaves the operator texts of the Temporal UI readable, whole and unmarked', async () => {
    const codec = new AesGcmCodec([key('k')]);
    const mql = mqlLead();
    const sql = sqlLead();
    const texts = [
      timerSummary({ event: 'sla.expired', at: Date.UTC(2026, 11, 4, 13, 3, 21, 919) }),
      startSummary({ type: 'form.submitted', form: 'demo_request' }),
      startSummary({ type: 'sales.accepted' }),
      detailsOf(mql.cycle.view(mql.cycle.stateOf(mql.snapshot))),
      // The owner ('rep-7') is a person: the details say only that sales has the lead.
      detailsOf(sql.cycle.view(sql.cycle.stateOf(sql.snapshot))),
    ];
    expect(texts[3]).toMatch(/^\*\*Lead · mql\*\* · .* score \d+ · fit \d+%/);
    expect(texts[3]).toContain('- sales acceptance (the SLA ends): sla.expired at ');
    expect(texts[4]).toContain('owner sales');
    expect(texts[4]).not.toContain('rep-7');
    const payloads = texts.map(json);
    const encoded = await codec.encode(payloads);
    expect(encoded).toEqual(payloads);
    expect(encoded.every((p) => p.metadata?.[KEY_ID_METADATA] === undefined)).toBe(true);
    expect(await codec.decode(encoded)).toEqual(payloads);
  });

  it('encrypts an operator-like text with an email or a name in it, and anything not exactly one', async () => {
    const codec = new AesGcmCodec([key('k')]);
    const mql = mqlLead();
    const details = detailsOf(mql.cycle.view(mql.cycle.stateOf(mql.snapshot)));
    const timer = 'sla.expired at 2026-12-04T13:03:21.919Z';
    const metadata = {
      definition: {
        type: 'leadWorkflow',
        queryDefinitions: [{ name: 'state' }],
        signalDefinitions: [{ name: 'fact' }],
        updateDefinitions: [{ name: 'command' }],
      },
      currentDetails: details,
    };
    const leaky: Payload[] = [
      json(`${timer} ada@acme.example`),
      json(`${timer} Ada Lovelace`),
      json(`Lead · started by form.submitted (ada@acme.example)`),
      json(details.replace('owner marketing', 'owner Ada Lovelace')),
      json(`${details}\n- Ada Lovelace: tick.decay at 2026-12-04T13:03:21.919Z`),
      json(details.replace(/score \d+/, 'score 0612345678')), // a phone number is personal too
      json(`${details}\n`),
      json({ ...metadata, currentDetails: `${details} ada@acme.example` }),
      json({ ...metadata, definition: { ...metadata.definition, type: 'ada@acme.example' } }),
      json({ ...metadata, email: 'ada@acme.example' }),
      json({ summary: timer }), // operator words, but not one of the texts
      { ...json(timer), metadata: { ...json(timer).metadata, note: new TextEncoder().encode('Ada') } },
      { ...json(timer), data: new TextEncoder().encode(`"${timer}"  `) },
    ];
    for (const payload of leaky) {
      const [encrypted] = await codec.encode([payload]);
      expect(new TextDecoder().decode(encrypted?.metadata?.[KEY_ID_METADATA])).toBe('k');
      expect(text(encrypted as Payload)).not.toContain('Ada');
      expect(text(encrypted as Payload)).not.toContain('ada@');
    }
    // The same metadata answer, without the email, stays readable: the checks above can fail.
    expect(await codec.encode([json(metadata)])).toEqual([json(metadata)]);
  });

  it('reads keys from LEADCYCLE_CODEC_KEYS, or creates a private key file once', async () => {
    const k = Buffer.alloc(32, 7).toString('base64');
    expect(parseCodecKeys(`new:${k}, old:${k}`).map((x) => x.id)).toEqual(['new', 'old']);
    expect(() => parseCodecKeys('short:AAAA')).toThrow(/not 32/);

    const dataDir = await mkdtemp(join(tmpdir(), 'codec-'));
    const first = await loadCodecKeys({ LEADCYCLE_DATA_DIR: dataDir });
    const second = await loadCodecKeys({ LEADCYCLE_DATA_DIR: dataDir });
    expect(second.keys[0]?.key).toEqual(first.keys[0]?.key);
    expect((await stat(join(dataDir, CODEC_KEYS_FILE))).mode & 0o777).toBe(0o600);
  });
});

describe('personal data in Temporal', () => {
  let env: TestWorkflowEnvironment;
  let encrypted: LeadHarness;
  let plain: LeadHarness;

  beforeAll(async () => {
    env = await createDevServerEnv();
    encrypted = await leadHarness(env, { encrypted: true });
    plain = await leadHarness(env);
  });
  afterAll(async () => {
    await encrypted?.close();
    await plain?.close();
    await env?.teardown();
  });

  const capture = (h: LeadHarness, tenant: string) =>
    h.client.capture(
      { tenant, email: 'ada.lovelace@acme.example' },
      {
        type: 'form.submitted',
        form: 'demo_request',
        consent: true,
        profile: { ...FIT, email: 'ada.lovelace@acme.example', firstName: 'Augusta', lastName: 'Lovelace' },
      },
    );

  it('a raw history read without the codec holds no plaintext email or name; with the codec it decodes', async () => {
    const tenant = `codec-${Date.now()}`;
    await encrypted.run(() => capture(encrypted, tenant));
    const { workflowId } = LeadClient.keyOf({ tenant, email: 'ada.lovelace@acme.example' });

    // env.client has no codec: it sees what Temporal stores.
    const raw = payloadText(await env.client.workflow.getHandle(workflowId).fetchHistory());
    expect(raw).not.toContain('ada.lovelace');
    expect(raw).not.toContain('Augusta');
    expect(raw).not.toContain('Lovelace');

    const view = await encrypted.client.get({ tenant, email: 'ada.lovelace@acme.example' });
    expect(view.state.context.profile).toMatchObject({
      email: 'ada.lovelace@acme.example',
      firstName: 'Augusta',
    });

    const { codec } = await loadDataConverter({ LEADCYCLE_DATA_DIR: encrypted.dataDir });
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    const decoded = payloadText(await codec.decode(started as Payload[]));
    expect(decoded).toContain('ada.lovelace@acme.example');
  });

  it('the same lead without the codec shows its email in the history (the check above can fail)', async () => {
    const tenant = `plain-${Date.now()}`;
    await plain.run(() => capture(plain, tenant));
    const { workflowId } = LeadClient.keyOf({ tenant, email: 'ada.lovelace@acme.example' });
    expect(payloadText(await env.client.workflow.getHandle(workflowId).fetchHistory())).toContain(
      'ada.lovelace',
    );
  });
});

describe('the codec server for the Temporal UI', () => {
  const codec = new AesGcmCodec([key('ui')]);
  const origin = 'http://localhost:8233';

  async function withServer<T>(token: string | undefined, fn: (url: string) => Promise<T>): Promise<T> {
    const app = buildCodecServer({ codec, origins: [origin], ...(token ? { token } : {}) });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      return await fn(url);
    } finally {
      await app.close();
    }
  }

  const asJson = (p: Payload) => ({
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? []).toString('base64'),
  });

  it('decodes what the codec encoded, for the UI origin only', async () => {
    const encoded = await codec.encode([json({ email: 'grace@acme.example' })]);
    await withServer(undefined, async (url) => {
      const res = await fetch(`${url}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin },
        body: JSON.stringify({ payloads: encoded.map(asJson) }),
      });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe(origin);
      const body = (await res.json()) as { payloads: Array<{ data: string }> };
      expect(Buffer.from(body.payloads[0]?.data ?? '', 'base64').toString()).toContain('grace@acme.example');

      const preflight = await fetch(`${url}/decode`, {
        method: 'OPTIONS',
        headers: { origin: 'http://evil.example' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();

      const bad = await fetch(`${url}/decode`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ payloads: 'nope' }),
      });
      expect(bad.status).toBe(400);
      // An RFC 9457 problem, as the API's errors are.
      expect(bad.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
      expect(await bad.json()).toEqual({
        type: '/problems/validation',
        title: 'The request does not match its schema',
        status: 400,
        detail: 'expected { payloads: [{ metadata, data }] }',
        instance: '/decode',
        code: 'validation',
        issues: [expect.objectContaining({ path: 'payloads' })],
      });
    });
  });

  it('requires the Bearer token when one is configured', async () => {
    await withServer('s3cret-token-0123456789abcdef0123456789', async (url) => {
      const post = (auth?: string) =>
        fetch(`${url}/encode`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
          body: JSON.stringify({ payloads: [] }),
        });
      expect((await post()).status).toBe(401);
      expect((await post('Bearer wrong')).status).toBe(401);
      expect((await post('Bearer s3cret-token-0123456789abcdef0123456789')).status).toBe(200);
    });
  });
});
