import { Client, Connection, ServiceError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderError } from '../../src/api/errors.js';
import { buildApi } from '../../src/api/server.js';
import { LeadClient } from '../../src/client/index.js';
import { BANT_COMPLETE, FIT } from '../support/lead.js';
import { eventually } from '../support/workflow.js';
import { API_KEY, type ApiStack, SECOND_KEY, startApiStack, unique } from './support.js';

/** The HTTP API over real HTTP, on the real dev server with a real worker: no mocks of Temporal. */
let api: ApiStack;

beforeAll(async () => {
  api = await startApiStack();
});
afterAll(async () => {
  await api?.close();
});

const form = (email: string, kind = 'content_download') => ({
  type: 'form.submitted',
  form: kind,
  consent: true,
  profile: { ...FIT, email },
});

/** Update events the lead's workflow accepted: one per command that changed the lead. */
async function acceptedUpdates(leadId: string): Promise<number> {
  const history = await api.env.client.workflow.getHandle(leadId).fetchHistory();
  return (history.events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length;
}

describe('operations', () => {
  it('GET /healthz and /readyz answer without a key', async () => {
    expect(await api.call('GET', '/healthz', { auth: false })).toMatchObject({
      status: 200,
      json: { status: 'ok' },
    });
    expect(await api.call('GET', '/readyz', { auth: false })).toMatchObject({
      status: 200,
      json: { status: 'ready', temporal: 'reachable' },
    });
  });

  it('GET /openapi.json documents every route with components generated from the zod schemas', async () => {
    const { status, json: doc } = await api.call('GET', '/openapi.json', { auth: false });
    expect(status).toBe(200);
    expect(doc.openapi).toMatch(/^3\.1\./);
    expect(Object.keys(doc.paths).sort()).toEqual(
      [
        '/healthz',
        '/problems',
        '/problems/{code}',
        '/readyz',
        '/v1/leads',
        '/v1/leads/capture',
        '/v1/leads/commands',
        '/v1/leads/facts',
        '/v1/leads/lookup',
        '/v1/leads/{leadId}',
        '/v1/leads/{leadId}/timeline',
        '/v1/webhooks/crm',
        '/v1/webhooks/forms',
      ].sort(),
    );
    const schemas = doc.components.schemas;
    for (const name of [
      'LeadRefInput',
      'LeadCommandInput',
      'CommandRequestInput',
      'LeadView',
      'Problem',
      'Rejection',
    ]) {
      expect(schemas, name).toHaveProperty(name);
    }
    // The machine's own event schemas: every command type, strict objects.
    const commandTypes = schemas.LeadCommandInput.oneOf.map(
      (s: { properties: { type: { const: string } } }) => s.properties.type.const,
    );
    expect(commandTypes).toEqual(
      expect.arrayContaining(['form.submitted', 'deal.won', 'consent.unsubscribed']),
    );
    expect(schemas.CommandRequestInput.additionalProperties).toBe(false);
    // Descriptions written on the shared schemas reach the document.
    expect(JSON.stringify(schemas.BantInput)).toContain('Months until the purchase decision');
    expect(doc.paths['/v1/leads/capture'].post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/CommandRequestInput',
    });
    // Every $ref resolves.
    for (const ref of JSON.stringify(doc).match(/#\/components\/schemas\/[A-Za-z]+/g) ?? []) {
      expect(schemas, ref).toHaveProperty(ref.split('/').pop() as string);
    }
    // Errors are documented as RFC 9457 problems, under their own media type.
    expect(doc.paths['/v1/leads/capture'].post.responses['409'].content).toEqual({
      'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
    });
    expect(schemas.Problem.required).toEqual(['type', 'title', 'status', 'detail', 'code']);
    // Times answer as ISO 8601 date-times, and the document says so.
    const dateTime = expect.objectContaining({ type: 'string', format: 'date-time' });
    expect(schemas.LeadView.properties.stageEnteredAt).toEqual(dateTime);
    expect(schemas.LeadView.properties.next.items.properties.at).toEqual(dateTime);
    expect(doc.components.securitySchemes).toHaveProperty('bearerAuth');
    expect(doc.paths['/v1/webhooks/forms'].post.security).toEqual([]);
    expect(doc.paths['/v1/leads/capture'].post.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ in: 'header', name: 'idempotency-key' })]),
    );
  });

  it('an unknown route is a 404 problem (RFC 9457), its instance the path without the query', async () => {
    const res = await api.call('GET', '/v1/nothing?token=secret');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(res.json).toEqual({
      type: '/problems/route_not_found',
      title: 'No such route',
      status: 404,
      detail: 'no route GET /v1/nothing',
      instance: '/v1/nothing',
      code: 'route_not_found',
    });
  });

  it('an error’s type resolves to its problem type, served without a key', async () => {
    const failed = await api.call('POST', '/v1/leads/capture', { body: {} });
    const type = await api.call('GET', failed.json.type, { auth: false });
    expect(type).toMatchObject({
      status: 200,
      json: { type: '/problems/validation', code: 'validation', title: failed.json.title },
    });
    const list = await api.call('GET', '/problems', { auth: false });
    expect(list.json.problems).toContainEqual(type.json);
    // Every listed type resolves, and its type is its own address.
    for (const problem of list.json.problems) {
      expect(problem.type).toBe(`/problems/${problem.code}`);
    }
    expect(await api.call('GET', '/problems/nothing_like_this', { auth: false })).toMatchObject({
      status: 404,
      json: { code: 'not_found', detail: 'no problem type nothing_like_this' },
    });
  });
});

describe('authentication', () => {
  const body = { lead: { tenant: 'auth', email: 'a@acme.example' }, command: { type: 'visit' } };

  it('a request without a key is a 401', async () => {
    const res = await api.call('POST', '/v1/leads/capture', { body, auth: false });
    expect(res).toMatchObject({ status: 401, json: { code: 'unauthorized' } });
    expect(res.json.detail).toMatch(/missing API key/);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('a wrong key is a 401, by bearer token or X-Api-Key', async () => {
    const attempts: Array<Record<string, string>> = [
      { authorization: 'Bearer wrong-key' },
      { authorization: `Basic ${Buffer.from(`u:${API_KEY}`).toString('base64')}` },
      { 'x-api-key': `${API_KEY}x` },
    ];
    for (const headers of attempts) {
      const res = await api.call('POST', '/v1/leads/capture', { body, auth: false, headers });
      expect(res, JSON.stringify(headers)).toMatchObject({
        status: 401,
        json: { code: 'unauthorized', detail: 'invalid API key' },
      });
    }
  });

  it('every configured key works, as a bearer token or as X-Api-Key', async () => {
    const ok = await api.call('GET', '/v1/leads?limit=1', {
      auth: false,
      headers: { 'x-api-key': SECOND_KEY },
    });
    expect(ok.status).toBe(200);
    const bearer = await api.call('GET', '/v1/leads?limit=1', {
      auth: false,
      headers: { authorization: `bearer ${SECOND_KEY}` },
    });
    expect(bearer.status).toBe(200);
  });

  it('authentication comes before parsing: no key and a broken body is still a 401', async () => {
    const res = await api.call('POST', '/v1/leads/capture', { raw: '{not json', auth: false });
    expect(res.status).toBe(401);
  });
});

describe('bad input is a 4xx naming the field, never a 5xx', () => {
  it('malformed JSON is a 400', async () => {
    for (const raw of ['{"lead":', '{"a":1}}', 'nul', '{"__proto__":{"x":1}}']) {
      const res = await api.call('POST', '/v1/leads/capture', { raw });
      expect(res, raw).toMatchObject({ status: 400, json: { code: 'invalid_json' } });
    }
  });

  it('an empty JSON body is a 400', async () => {
    const res = await api.call('POST', '/v1/leads/commands', { raw: '' });
    expect(res).toMatchObject({ status: 400, json: { code: 'invalid_json' } });
  });

  it('a missing body is a 400 validation error', async () => {
    const res = await api.call('POST', '/v1/leads/capture');
    expect(res).toMatchObject({ status: 400, json: { code: 'validation' } });
  });

  it('wrong types name the field path and the reason', async () => {
    const res = await api.call('POST', '/v1/leads/capture', {
      body: {
        lead: { tenant: 'types', email: 'x@acme.example' },
        command: { ...form('x@acme.example'), profile: { email: 'x@acme.example', companySize: 'big' } },
      },
    });
    expect(res.status).toBe(400);
    expect(res.json.issues).toEqual([
      { in: 'body', path: 'command.profile.companySize', message: expect.stringMatching(/expected number/) },
    ]);
    expect(res.json.detail).toMatch(/^command\.profile\.companySize: /);
  });

  it('an invalid email, an unknown command type and a lead without email or externalId name their fields', async () => {
    const email = await api.call('POST', '/v1/leads/capture', {
      body: { lead: { email: 'not-an-email' }, command: { type: 'visit' } },
    });
    expect(email.json.issues).toEqual([
      expect.objectContaining({ path: 'lead.email', message: expect.stringMatching(/email/i) }),
    ]);
    const type = await api.call('POST', '/v1/leads/commands', {
      body: { lead: { externalId: 'x' }, command: { type: 'tick.decay' } },
    });
    expect(type.status).toBe(400);
    expect(type.json.issues).toEqual([expect.objectContaining({ path: 'command.type' })]);
    const ref = await api.call('POST', '/v1/leads/lookup', { body: { lead: { tenant: 'x' } } });
    expect(ref.json.issues.map((i: { path: string }) => i.path).sort()).toEqual([
      'lead.email',
      'lead.externalId',
    ]);
  });

  it('unknown fields are rejected with the path of each unknown key', async () => {
    const res = await api.call('POST', '/v1/leads/capture', {
      body: {
        lead: { tenant: 'strict', email: 'x@acme.example', nickname: 'x' },
        command: { type: 'visit', at: 123 },
        extra: true,
      },
    });
    expect(res.status).toBe(400);
    expect(res.json.issues.map((i: { path: string }) => i.path).sort()).toEqual([
      'command.at',
      'extra',
      'lead.nickname',
    ]);
    const query = await api.call('GET', '/v1/leads?stage=mql&color=red');
    expect(query.json.issues).toEqual([
      { in: 'querystring', path: 'color', message: 'unknown field "color"' },
    ]);
  });

  it('bad query and path values are 400s', async () => {
    for (const path of [
      '/v1/leads?limit=0',
      '/v1/leads?limit=abc',
      '/v1/leads?stage=boss',
      '/v1/leads/not-a-lead-id',
    ]) {
      const res = await api.call('GET', path);
      expect(res, path).toMatchObject({ status: 400, json: { code: 'validation' } });
    }
  });

  it('an oversized body is a 413', async () => {
    const res = await api.call('POST', '/v1/leads/capture', {
      body: { lead: { externalId: 'big' }, command: { type: 'visit', page: 'x'.repeat(70 * 1024) } },
    });
    expect(res).toMatchObject({ status: 413, json: { code: 'payload_too_large' } });
    expect(res.json.detail).toContain('65536');
  });

  it('a body that is not JSON is a 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const res = await api.call('POST', '/v1/leads/capture', {
        raw: 'lead=x',
        headers: { 'content-type': type },
      });
      expect(res, type).toMatchObject({ status: 415, json: { code: 'unsupported_media_type' } });
    }
  });
});

describe('leads', () => {
  it('drives one lead from first visit to customer', async () => {
    const lead = { tenant: unique(), email: 'grace@acme.example' };
    const visit = await api.call('POST', '/v1/leads/capture', {
      body: { lead, command: { type: 'visit', page: '/pricing' } },
    });
    expect(visit).toMatchObject({ status: 200, json: { stage: 'visitor', consent: 'unknown' } });
    const { leadId } = visit.json;
    expect(leadId).toMatch(/^lead-[0-9a-f]{32}$/);
    expect(visit.headers.get('location')).toBe(`/v1/leads/${leadId}`);

    const captured = await api.call('POST', '/v1/leads/capture', {
      body: { lead, command: form(lead.email) },
    });
    expect(captured.json).toMatchObject({
      leadId,
      stage: 'lead',
      consent: 'granted',
      persona: expect.any(String),
    });

    const steps: Array<[object, string]> = [
      [{ type: 'engagement', kind: 'webinar_attended' }, 'lead'],
      [{ type: 'engagement', kind: 'premium_content' }, 'lead'],
      // The first visit was to /pricing: the pricing page's 10 points (pageRules) make this the 50th.
      [{ type: 'engagement', kind: 'info_request' }, 'mql'],
      [{ type: 'engagement', kind: 'pricing_page' }, 'mql'],
      [{ type: 'bant.updated', bant: BANT_COMPLETE }, 'mql'],
      [{ type: 'sales.accepted', owner: 'rep-9' }, 'sql'],
      [{ type: 'proposal.sent', amount: 10_000 }, 'opportunity'],
      [{ type: 'deal.won', amount: 10_000 }, 'customer'],
    ];
    for (const [command, stage] of steps) {
      const res = await api.call('POST', '/v1/leads/commands', { body: { lead, command } });
      expect(res, JSON.stringify(command)).toMatchObject({ status: 200, json: { leadId, stage } });
    }

    const byRef = await api.call('POST', '/v1/leads/lookup', { body: { lead } });
    expect(byRef.json).toMatchObject({ leadId, stage: 'customer', owner: 'rep-9', temperature: 'hot' });
    const byId = await api.call('GET', `/v1/leads/${leadId}`);
    expect(byId.json).toEqual(byRef.json);

    await eventually(async () => {
      const list = await api.call('GET', '/v1/leads?stage=customer&temperature=hot&limit=1000');
      expect(list.status).toBe(200);
      expect(list.json.leads).toEqual(
        expect.arrayContaining([expect.objectContaining({ leadId, stage: 'customer', owner: 'rep-9' })]),
      );
    });
  });

  it('POST /v1/leads/facts is a 202 and the lead applies the fact', async () => {
    const lead = { tenant: unique(), externalId: 'crm-42' };
    const first = await api.call('POST', '/v1/leads/capture', { body: { lead, command: { type: 'visit' } } });
    const before = first.json.score;
    const res = await api.call('POST', '/v1/leads/facts', {
      body: { lead, fact: { type: 'engagement', kind: 'pricing_page' } },
    });
    expect(res).toMatchObject({ status: 202, json: { accepted: true, leadId: first.json.leadId } });
    await eventually(async () => {
      const view = await api.call('GET', `/v1/leads/${first.json.leadId}`);
      expect(view.json.score).toBeGreaterThan(before);
    });
  });

  it('the same form twice, the email in another case, is one lead with one workflow', async () => {
    const tenant = unique();
    const first = await api.call('POST', '/v1/leads/capture', {
      body: {
        lead: { tenant, email: 'Ada@Acme.example' },
        command: form('Ada@Acme.example', 'content_download'),
      },
    });
    const second = await api.call('POST', '/v1/leads/capture', {
      body: {
        lead: { tenant, email: '  ada@ACME.example ' },
        command: form('ada@acme.example', 'content_download'),
      },
    });
    expect(first.status).toBe(200);
    expect(second.json.leadId).toBe(first.json.leadId);
    expect(second.json.leadKey).toBe(`${tenant}:email:ada@acme.example`);
    const runs = await api.env.client.workflow.count(`WorkflowId = '${first.json.leadId}'`);
    expect(runs.count).toBe(1);
  });

  it('an illegal transition is a 409 with the machine’s rejection, and changes nothing', async () => {
    const lead = { tenant: unique(), email: 'linus@acme.example' };
    const captured = await api.call('POST', '/v1/leads/capture', {
      body: { lead, command: form(lead.email) },
    });
    const res = await api.call('POST', '/v1/leads/commands', {
      body: { lead, command: { type: 'deal.won' } },
    });
    expect(res).toMatchObject({
      status: 409,
      json: {
        code: 'rejected',
        detail: expect.stringMatching(/^deal\.won is not allowed in stage lead \(engagement score /),
        rejection: { code: 'not_allowed_in_stage', stage: 'lead', event: 'deal.won', guard: null },
      },
    });
    const guard = await api.call('POST', '/v1/leads/commands', {
      body: { lead, command: { type: 'sales.accepted', owner: 'rep-1' } },
    });
    expect(guard.status).toBe(409);
    expect(guard.json.rejection.stage).toBe('lead');
    expect(await acceptedUpdates(captured.json.leadId)).toBe(1);
  });

  it('a lead that was never captured is a 404', async () => {
    const lead = { tenant: unique(), email: 'nobody@acme.example' };
    for (const [method, path, body] of [
      ['POST', '/v1/leads/commands', { lead, command: { type: 'visit' } }],
      ['POST', '/v1/leads/facts', { lead, fact: { type: 'visit' } }],
      ['POST', '/v1/leads/lookup', { lead }],
      ['GET', `/v1/leads/lead-${'0'.repeat(32)}`, undefined],
    ] as const) {
      const res = await api.call(method, path, body ? { body } : {});
      expect(res, path).toMatchObject({ status: 404, json: { code: 'not_found' } });
    }
  });
});

describe('listing leads', () => {
  it('pages through visibility with a cursor bound to its filters', async () => {
    for (let i = 0; i < 5; i++) {
      const body = { lead: { email: `page-${i}-${unique()}@acme.example` }, command: form('x@acme.example') };
      body.command.profile.email = body.lead.email;
      expect((await api.call('POST', '/v1/leads/capture', { body })).status).toBe(200);
    }
    const first = await eventually(async () => {
      const res = await api.call('GET', '/v1/leads?limit=2');
      expect(res.json.leads).toHaveLength(2);
      expect(res.json.nextCursor).toEqual(expect.any(String));
      return res.json;
    });
    const next = await api.call('GET', `/v1/leads?limit=2&cursor=${first.nextCursor}`);
    expect(next.status).toBe(200);
    expect(next.json.leads.length).toBeGreaterThan(0);
    const ids = (page: { leads: { leadId: string }[] }) => page.leads.map((l) => l.leadId);
    expect(ids(next.json).filter((id: string) => ids(first).includes(id))).toEqual([]);

    const otherFilter = await api.call('GET', `/v1/leads?limit=2&stage=mql&cursor=${first.nextCursor}`);
    expect(otherFilter).toMatchObject({
      status: 400,
      json: { code: 'validation', issues: [{ in: 'querystring', path: 'cursor' }] },
    });
    expect(otherFilter.json.issues[0].message).toContain('other filters');
    const garbage = await api.call('GET', '/v1/leads?cursor=not-a-cursor');
    expect(garbage).toMatchObject({ status: 400, json: { issues: [{ path: 'cursor' }] } });
  });
});

describe('idempotency keys', () => {
  it('a retry with the same key and body answers the first response without a second event', async () => {
    const lead = { tenant: unique(), email: 'idem@acme.example' };
    const captured = await api.call('POST', '/v1/leads/capture', {
      body: { lead, command: form(lead.email) },
    });
    const key = `idem-${unique()}`;
    const body = { lead, command: { type: 'engagement', kind: 'pricing_page' } };
    const first = await api.call('POST', '/v1/leads/commands', { body, headers: { 'idempotency-key': key } });
    const retry = await api.call('POST', '/v1/leads/commands', {
      // Same JSON, keys in another order.
      raw: JSON.stringify({ command: { kind: 'pricing_page', type: 'engagement' }, lead }),
      headers: { 'idempotency-key': key },
    });
    expect(first.status).toBe(200);
    expect(first.json.score).toBeGreaterThan(captured.json.score);
    expect(retry.status).toBe(200);
    expect(retry.text).toBe(first.text);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(await acceptedUpdates(captured.json.leadId)).toBe(2); // the capture and one engagement
    const now = await api.call('POST', '/v1/leads/lookup', { body: { lead } });
    expect(now.json.score).toBe(first.json.score);
  });

  it('the same key with a different body is a 422', async () => {
    const lead = { tenant: unique(), externalId: 'idem-2' };
    const key = `idem-${unique()}`;
    const first = await api.call('POST', '/v1/leads/capture', {
      body: { lead, command: { type: 'visit' } },
      headers: { 'idempotency-key': key },
    });
    expect(first.status).toBe(200);
    const other = await api.call('POST', '/v1/leads/capture', {
      body: { lead, command: { type: 'visit', page: '/other' } },
      headers: { 'idempotency-key': key },
    });
    expect(other).toMatchObject({ status: 422, json: { code: 'idempotency_key_reused' } });
    const elsewhere = await api.call('POST', '/v1/leads/facts', {
      body: { lead, fact: { type: 'visit' } },
      headers: { 'idempotency-key': key },
    });
    expect(elsewhere.status).toBe(422);
  });

  it('a refused command is replayed as the same 409; a request that failed validation holds no key', async () => {
    const lead = { tenant: unique(), email: 'idem3@acme.example' };
    await api.call('POST', '/v1/leads/capture', { body: { lead, command: form(lead.email) } });
    const key = `idem-${unique()}`;
    const refused = await api.call('POST', '/v1/leads/commands', {
      body: { lead, command: { type: 'deal.won' } },
      headers: { 'idempotency-key': key },
    });
    const again = await api.call('POST', '/v1/leads/commands', {
      body: { lead, command: { type: 'deal.won' } },
      headers: { 'idempotency-key': key },
    });
    expect([refused.status, again.status]).toEqual([409, 409]);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(refused.text);
    expect(again.headers.get('content-type')).toBe(refused.headers.get('content-type'));

    const key2 = `idem-${unique()}`;
    const invalid = await api.call('POST', '/v1/leads/commands', {
      body: { lead, command: { type: 'visit', bogus: 1 } },
      headers: { 'idempotency-key': key2 },
    });
    expect(invalid.status).toBe(400);
    const fixed = await api.call('POST', '/v1/leads/commands', {
      body: { lead, command: { type: 'visit' } },
      headers: { 'idempotency-key': key2 },
    });
    expect(fixed.status).toBe(200);
  });

  it('keys are per API key: another client may use the same key', async () => {
    const key = `idem-${unique()}`;
    const body = { lead: { tenant: unique(), externalId: 'x' }, command: { type: 'visit' } };
    const a = await api.call('POST', '/v1/leads/capture', { body, headers: { 'idempotency-key': key } });
    const b = await api.call('POST', '/v1/leads/capture', {
      body: { ...body, command: { type: 'visit', page: '/b' } },
      auth: false,
      headers: { 'idempotency-key': key, 'x-api-key': SECOND_KEY },
    });
    expect([a.status, b.status]).toEqual([200, 200]);
  });

  it('an invalid key is a 400', async () => {
    const res = await api.call('POST', '/v1/leads/capture', {
      body: { lead: { externalId: 'x' }, command: { type: 'visit' } },
      headers: { 'idempotency-key': 'x'.repeat(300) },
    });
    expect(res.json.issues).toEqual([expect.objectContaining({ in: 'headers', path: 'idempotency-key' })]);
  });
});

describe('signed webhooks', () => {
  const formPayload = (tenant: string, email: string) => ({
    tenant,
    email,
    form: 'content_download',
    consent: true,
    profile: { firstName: 'Ada', companySize: 250, sector: 'software', jobFunction: 'it' },
  });

  it('a form webhook captures the lead without an API key; the same form twice is one lead', async () => {
    const tenant = unique();
    const first = await api.webhook('/v1/webhooks/forms', formPayload(tenant, 'Ada@Acme.example'));
    expect(first).toMatchObject({ status: 200, json: { stage: 'lead', consent: 'granted' } });
    const second = await api.webhook('/v1/webhooks/forms', formPayload(tenant, 'ada@acme.example'));
    expect(second.json.leadId).toBe(first.json.leadId);
    const view = await api.call('GET', `/v1/leads/${first.json.leadId}`);
    expect(view.json.state.context.profile).toMatchObject({ email: 'ada@acme.example', firstName: 'Ada' });
  });

  it('a CRM webhook applies sales commands, and a refused one is a 409 with the rejection', async () => {
    const tenant = unique();
    const lead = { tenant, email: 'crm@acme.example' };
    await api.webhook('/v1/webhooks/forms', formPayload(tenant, lead.email));
    const refused = await api.webhook('/v1/webhooks/crm', { lead, command: { type: 'proposal.sent' } });
    expect(refused).toMatchObject({
      status: 409,
      json: { code: 'rejected', rejection: { code: 'not_allowed_in_stage', stage: 'lead' } },
    });
    for (const kind of ['webinar_attended', 'premium_content', 'info_request', 'pricing_page']) {
      await api.call('POST', '/v1/leads/commands', { body: { lead, command: { type: 'engagement', kind } } });
    }
    const bant = await api.webhook('/v1/webhooks/crm', {
      lead,
      command: { type: 'bant.updated', bant: BANT_COMPLETE },
    });
    expect(bant.json.stage).toBe('mql');
    const accepted = await api.webhook('/v1/webhooks/crm', {
      lead,
      command: { type: 'sales.accepted', owner: 'rep-7' },
    });
    expect(accepted).toMatchObject({ status: 200, json: { stage: 'sql' } });
    // Only sales commands: an app command is not a CRM command.
    const appCommand = await api.webhook('/v1/webhooks/crm', {
      lead,
      command: { type: 'consent.subscribed' },
    });
    expect(appCommand).toMatchObject({ status: 400, json: { code: 'validation' } });
    const unknown = await api.webhook('/v1/webhooks/crm', {
      lead: { tenant, email: 'nobody@acme.example' },
      command: { type: 'deal.won' },
    });
    expect(unknown.status).toBe(404);
  });

  it('a replayed delivery is rejected, even inside the tolerance window', async () => {
    const first = await api.webhook('/v1/webhooks/forms', formPayload(unique(), 'replay@acme.example'));
    expect(first.status).toBe(200);
    const replay = await api.webhook('/v1/webhooks/forms', undefined, {
      header: first.signature,
      raw: first.raw,
    });
    expect(replay).toMatchObject({ status: 409, json: { code: 'webhook_replayed' } });
    // Extra or reordered entries in the header do not make it a new delivery.
    const [t, v1] = first.signature.split(',');
    const reordered = await api.webhook('/v1/webhooks/forms', undefined, {
      header: `${v1},v1=${'0'.repeat(64)},${t}`,
      raw: first.raw,
    });
    expect(reordered.status).toBe(409);
  });

  it('a stale timestamp is rejected, either way', async () => {
    const now = Math.floor(Date.now() / 1000);
    for (const timestamp of [now - 3600, now + 3600]) {
      const res = await api.webhook('/v1/webhooks/forms', formPayload(unique(), 'old@acme.example'), {
        timestamp,
      });
      expect(res).toMatchObject({ status: 401, json: { code: 'stale_signature' } });
    }
  });

  it('a bad, missing or malformed signature is rejected before the body is even parsed', async () => {
    const body = formPayload(unique(), 'bad@acme.example');
    const wrongSecret = await api.webhook('/v1/webhooks/forms', body, { secret: 'not-the-secret-at-all' });
    expect(wrongSecret).toMatchObject({ status: 401, json: { code: 'invalid_signature' } });
    const tampered = await api.webhook('/v1/webhooks/forms', undefined, {
      header: (await api.webhook('/v1/webhooks/forms', body)).signature,
      raw: JSON.stringify({ ...body, email: 'mallory@evil.example' }),
    });
    expect(tampered.status).toBe(401);
    const malformed = await api.webhook('/v1/webhooks/forms', body, { header: 'v1=abc' });
    expect(malformed).toMatchObject({ status: 401, json: { code: 'invalid_signature' } });
    const garbage = await api.webhook('/v1/webhooks/forms', undefined, {
      header: 'v1=abc',
      raw: '{not json',
    });
    expect(garbage.status).toBe(401);
    const missing = await api.call('POST', '/v1/webhooks/forms', { body, auth: false });
    expect(missing).toMatchObject({ status: 401, json: { code: 'missing_signature' } });
  });

  it('a correctly signed but invalid payload is a 400 naming the field', async () => {
    const res = await api.webhook('/v1/webhooks/forms', { email: 'x@acme.example', form: 'poll', extra: 1 });
    expect(res.status).toBe(400);
    expect(res.json.issues.map((i: { path: string }) => i.path).sort()).toEqual(['extra', 'form']);
  });
});

describe('Temporal unavailable', () => {
  it('a lead whose workers are all down is a 503, not a 500 (found by the fuzz run)', () => {
    // What Temporal answers a query when the lead's task queue has had no poller for a while.
    const grpc = Object.assign(new Error('9 FAILED_PRECONDITION: no poller seen for task queue recently'), {
      code: 9,
      details: 'no poller seen for task queue recently, worker may be down',
      metadata: {},
    });
    const rendered = renderError(new ServiceError('Failed to query Workflow', { cause: grpc }), 65_536);
    expect(rendered.status).toBe(503);
    expect(rendered.body).toMatchObject({ code: 'worker_unavailable' });
    expect(rendered.headers['retry-after']).toBe('5');
  });

  it('is a 503 JSON answer, and /readyz says so', async () => {
    // A client whose server is gone: nothing listens on port 1.
    const connection = Connection.lazy({ address: '127.0.0.1:1' });
    const client = new LeadClient(new Client({ connection }), { taskQueue: 'nowhere' });
    const app = await buildApi({ client, apiKeys: [API_KEY], temporalTimeoutMs: 1_000 });
    try {
      const capture = await app.inject({
        method: 'POST',
        url: '/v1/leads/capture',
        headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
        payload: { lead: { externalId: 'x' }, command: { type: 'visit' } },
      });
      expect(capture.statusCode).toBe(503);
      expect(capture.json()).toMatchObject({ code: 'temporal_unavailable' });
      expect(capture.headers['retry-after']).toBeDefined();
      expect(capture.body).not.toMatch(/\n\s+at /);
      const ready = await app.inject('/readyz');
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ code: 'temporal_unavailable' });
    } finally {
      await app.close();
      await connection.close();
    }
  });
});
