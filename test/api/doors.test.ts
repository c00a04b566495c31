import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { signPayload } from '../../src/activities/signature.js';
import { REPLAY_CACHE_FILE } from '../../src/api/replay-cache.js';
import { buildApi } from '../../src/api/server.js';
import { STAGES } from '../../src/machines/index.js';
import { FIT } from '../support/lead.js';
import { API_KEY, type ApiStack, CRM_SECRET, startApiStack, unique, WEBHOOK_SECRET } from './support.js';

/**
 * Closed doors (issue #17), over real HTTP on the real dev server with a real worker: who may reach
 * what. A scoped key reaches its tenants only; /metrics needs a key and asks Temporal at most once
 * per window; a form tool's secret cannot sign a CRM command; a replay after a restart is refused.
 */
const OWN = `own${Date.now()}`;
const SCOPED_KEY = 'scoped-key-0123456789abcdef';
const METRICS_KEY = 'metrics-key-0123456789abcdef';

let api: ApiStack;
let replayFile: string;

beforeAll(async () => {
  replayFile = join(await mkdtemp(join(tmpdir(), 'leadcycle-doors-')), REPLAY_CACHE_FILE);
  api = await startApiStack({
    apiKeys: [API_KEY, `${OWN}|other-own:${SCOPED_KEY}`],
    metricsKey: METRICS_KEY,
    metricsCacheSeconds: 2,
    webhookReplayFile: replayFile,
  });
});
afterAll(async () => {
  await api?.close();
});

const form = (email: string) => ({
  type: 'form.submitted',
  form: 'content_download',
  consent: true,
  profile: { ...FIT, email },
});
const as = (key: string) => ({ authorization: `Bearer ${key}` });

describe('API keys scoped to tenants', () => {
  it("a scoped key cannot read nor command another tenant's lead: 404, as if it did not exist, and nothing changes", async () => {
    const theirs = { tenant: unique(), email: 'ada@theirs.example' };
    const captured = await api.call('POST', '/v1/leads/capture', {
      body: { lead: theirs, command: form(theirs.email) },
    });
    expect(captured.status).toBe(200);
    const leadId = captured.json.leadId as string;
    const scoped = { headers: as(SCOPED_KEY) };

    const attempts = [
      api.call('POST', '/v1/leads/lookup', { ...scoped, body: { lead: theirs } }),
      api.call('GET', `/v1/leads/${leadId}`, scoped),
      api.call('POST', '/v1/leads/commands', {
        ...scoped,
        body: { lead: theirs, command: { type: 'disqualify', reason: 'spam' } },
      }),
      api.call('POST', '/v1/leads/capture', {
        ...scoped,
        body: { lead: theirs, command: { type: 'disqualify', reason: 'spam' } },
      }),
      api.call('POST', '/v1/leads/facts', {
        ...scoped,
        body: { lead: theirs, fact: { type: 'engagement', kind: 'pricing_page' } },
      }),
      // Without a tenant, the lead is the `default` tenant's: not this key's either.
      api.call('POST', '/v1/leads/lookup', { ...scoped, body: { lead: { email: theirs.email } } }),
    ];
    for (const res of await Promise.all(attempts)) {
      expect(res).toMatchObject({ status: 404, json: { code: 'not_found' } });
    }
    // The admin key sees the lead as it was: no command got through.
    const after = await api.call('GET', `/v1/leads/${leadId}`);
    expect(after.json).toMatchObject({ stage: 'lead', score: captured.json.score });
  });

  it('a scoped key drives its own tenants’ leads', async () => {
    const mine = { tenant: OWN, email: `${unique()}@mine.example` };
    const scoped = { headers: as(SCOPED_KEY) };
    const captured = await api.call('POST', '/v1/leads/capture', {
      ...scoped,
      body: { lead: mine, command: form(mine.email) },
    });
    expect(captured.status).toBe(200);
    expect((await api.call('GET', `/v1/leads/${captured.json.leadId}`, scoped)).status).toBe(200);
    expect((await api.call('POST', '/v1/leads/lookup', { ...scoped, body: { lead: mine } })).status).toBe(
      200,
    );
    const other = { tenant: 'other-own', email: mine.email };
    expect(
      (
        await api.call('POST', '/v1/leads/capture', {
          ...scoped,
          body: { lead: other, command: form(other.email) },
        })
      ).status,
    ).toBe(200);
  });

  it('routes that span tenants (the list, /metrics) are a 403 for a scoped key, open to the admin key', async () => {
    const list = await api.call('GET', '/v1/leads', { headers: as(SCOPED_KEY) });
    expect(list).toMatchObject({ status: 403, json: { code: 'tenant_scope' } });
    expect((await api.call('GET', '/v1/leads')).status).toBe(200);
    const metrics = await api.call('GET', '/metrics', { headers: as(SCOPED_KEY) });
    expect(metrics).toMatchObject({ status: 403, json: { code: 'tenant_scope' } });
  });
});

describe('GET /metrics', () => {
  it('needs a key: 401 without one or with a wrong one', async () => {
    expect((await api.call('GET', '/metrics', { auth: false })).status).toBe(401);
    expect((await api.call('GET', '/metrics', { headers: as('not-a-key-at-all') })).status).toBe(401);
    // The metrics key opens /metrics only, not the leads.
    expect((await api.call('GET', '/v1/leads', { headers: as(METRICS_KEY) })).status).toBe(401);
  });

  it('answers from a cache: scrapes inside the window ask Temporal once, the next window asks again', async () => {
    // A spy that calls through to the real Temporal count: it only counts the calls.
    const count = vi.spyOn(api.h.client.temporal.workflow, 'count');
    try {
      // Let any earlier window run out, so this one starts with the first scrape below.
      await new Promise((resolve) => setTimeout(resolve, 2_100));
      count.mockClear();
      const scrapes = await Promise.all([
        api.call('GET', '/metrics', { headers: as(METRICS_KEY) }),
        api.call('GET', '/metrics', { headers: as(API_KEY) }),
      ]);
      const again = await api.call('GET', '/metrics', { headers: as(METRICS_KEY) });
      for (const res of [...scrapes, again]) {
        expect(res.status).toBe(200);
        expect(res.text).toMatch(/leadcycle_leads\{stage="lead"\} \d+/);
      }
      // Three scrapes, one count per stage: not three.
      expect(count).toHaveBeenCalledTimes(STAGES.length);
      const countedAt = (text: string) =>
        /^leadcycle_leads_counted_at_seconds (\d+(?:\.\d+)?)$/m.exec(text)?.[1];
      expect(countedAt(again.text)).toBeDefined();
      expect(countedAt(again.text)).toBe(countedAt(scrapes[0]?.text ?? ''));

      await new Promise((resolve) => setTimeout(resolve, 2_100));
      const later = await api.call('GET', '/metrics', { headers: as(METRICS_KEY) });
      expect(countedAt(later.text)).not.toBe(countedAt(again.text));
      expect(count).toHaveBeenCalledTimes(2 * STAGES.length);
    } finally {
      count.mockRestore();
    }
  });
});

describe('signed webhooks', () => {
  const formBody = (tenant: string, email: string) => ({
    tenant,
    email,
    form: 'demo_request',
    consent: true,
    profile: { companySize: 250, sector: 'software', jobFunction: 'it' },
  });

  it("a form tool's secret cannot sign a CRM command (deal.won); the CRM's secret cannot sign a form", async () => {
    const tenant = unique();
    const lead = { tenant, email: 'won@acme.example' };
    expect((await api.webhook('/v1/webhooks/forms', formBody(tenant, lead.email))).status).toBe(200);

    const forged = await api.webhook(
      '/v1/webhooks/crm',
      { lead, command: { type: 'deal.won' } },
      { secret: WEBHOOK_SECRET },
    );
    expect(forged).toMatchObject({ status: 401, json: { code: 'invalid_signature' } });
    const crossed = await api.webhook('/v1/webhooks/forms', formBody(tenant, 'x@acme.example'), {
      secret: CRM_SECRET,
    });
    expect(crossed).toMatchObject({ status: 401, json: { code: 'invalid_signature' } });

    // Signed by the CRM, the same command reaches the machine (which refuses it in this stage).
    const real = await api.webhook(
      '/v1/webhooks/crm',
      { lead, command: { type: 'deal.won' } },
      { secret: CRM_SECRET },
    );
    expect(real).toMatchObject({ status: 409, json: { code: 'rejected' } });
  });

  it('a delivery replayed after the API restarts is still refused', async () => {
    const raw = JSON.stringify(formBody(unique(), 'restart@acme.example'));
    const signature = signPayload(WEBHOOK_SECRET, raw);
    const deliver = async (app: Awaited<ReturnType<typeof buildApi>>) =>
      app.inject({
        method: 'POST',
        url: '/v1/webhooks/forms',
        headers: { 'content-type': 'application/json', 'leadcycle-signature': signature },
        payload: raw,
      });
    const options = {
      client: api.h.client,
      apiKeys: [API_KEY],
      webhookSecrets: { forms: WEBHOOK_SECRET, crm: CRM_SECRET },
      webhookReplayFile: join(await mkdtemp(join(tmpdir(), 'leadcycle-restart-')), REPLAY_CACHE_FILE),
    };
    const before = await buildApi(options);
    try {
      expect((await api.h.run(() => deliver(before))).statusCode).toBe(200);
    } finally {
      await before.close();
    }
    // A new process on the same data dir: the same bytes, inside the tolerance window.
    const after = await buildApi(options);
    try {
      const replay = await api.h.run(() => deliver(after));
      expect(replay.statusCode).toBe(409);
      expect(replay.json()).toMatchObject({ code: 'webhook_replayed' });
    } finally {
      await after.close();
    }
  });
});
