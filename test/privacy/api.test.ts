import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../src/api/server.js';
import { LeadClient } from '../../src/client/index.js';
import { runsOf } from '../../src/privacy/runs.js';
import { API_KEY, unique } from '../api/support.js';
import { devServerLeads, eventually } from '../support/workflow.js';
import { outboxText, privacyDeps, SMALL_RUNS, seedLead } from './support.js';

/** Times answer as ISO 8601, UTC. */
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const t = devServerLeads(SMALL_RUNS);
/** A key scoped to one tenant (src/api/auth.ts): it must not export, forget nor read another's. */
const SCOPED_TENANT = `scoped${Date.now()}`;
const SCOPED_KEY = 'privacy-scoped-key-0123456789';
let app: FastifyInstance;
let deps: ReturnType<typeof privacyDeps>;
beforeAll(async () => {
  deps = privacyDeps(t.h);
  app = await buildApi({
    client: t.h.client,
    apiKeys: [API_KEY, `${SCOPED_TENANT}:${SCOPED_KEY}`],
    privacy: deps,
  });
});
afterAll(async () => {
  await app?.close();
  await deps?.close();
});

const post = (url: string, body: unknown, auth = true) =>
  t.h.run(() =>
    app.inject({
      method: 'POST',
      url,
      payload: JSON.stringify(body),
      headers: {
        'content-type': 'application/json',
        ...(auth ? { authorization: `Bearer ${API_KEY}` } : {}),
      },
    }),
  );

describe('a tenant-scoped key and personal data', () => {
  it("cannot export, forget nor read the consent of another tenant's person: 404, and nothing is erased", async () => {
    const lead = { tenant: unique(), email: 'grace@other.example' };
    const { workflowId } = await seedLead(t.h, lead);
    const as = (method: 'GET' | 'POST', url: string, body?: unknown) =>
      t.h.run(() =>
        app.inject({
          method,
          url,
          ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            authorization: `Bearer ${SCOPED_KEY}`,
          },
        }),
      );
    for (const res of [
      await as('POST', '/v1/leads/export', { lead }),
      await as('POST', '/v1/leads/forget', { lead }),
      await as('GET', `/v1/leads/${workflowId}/consent`),
    ]) {
      expect(res.statusCode, res.body).toBe(404);
      expect(res.json()).toMatchObject({ code: 'not_found' });
    }
    // Still there for the admin key.
    const exported = await post('/v1/leads/export', { lead });
    expect(exported.json().leads).toHaveLength(1);
  });
});

describe('POST /v1/leads/export and /v1/leads/forget', () => {
  it('exports a lead, then forgets it', async () => {
    const lead = { tenant: unique(), email: 'ada@acme.example' };
    const { workflowId } = await seedLead(t.h, lead);

    const exported = await post('/v1/leads/export', { lead: { ...lead, email: ' Ada@Acme.example' } });
    expect(exported.statusCode, exported.body).toBe(200);
    const body = exported.json();
    expect(body.leads).toHaveLength(1);
    expect(body.leads[0]).toMatchObject({ leadId: workflowId, state: { stage: 'mql' } });
    expect(body.leads[0].outbox.length).toBeGreaterThanOrEqual(2);

    // The proof of consent, on the lead: the form's opt-in, with its source.
    const consent = await t.h.run(() =>
      app.inject({
        method: 'GET',
        url: `/v1/leads/${workflowId}/consent`,
        headers: { authorization: `Bearer ${API_KEY}` },
      }),
    );
    expect(consent.statusCode).toBe(200);
    expect(consent.json().changes).toMatchObject([
      { consent: 'granted', doNotContact: false, source: 'form', at: expect.stringMatching(ISO) },
    ]);

    const forgotten = await post('/v1/leads/forget', { lead });
    expect(forgotten.statusCode).toBe(200);
    expect(forgotten.json()).toMatchObject({
      addressesSuppressed: 1,
      leads: [{ leadId: workflowId, terminated: true, outboxRecordsRemoved: body.leads[0].outbox.length }],
    });
    expect(await outboxText(t.h)).not.toContain(lead.email);
    expect((await post('/v1/leads/forget', { lead })).statusCode).toBe(200);

    const after = (await post('/v1/leads/export', { lead })).json();
    expect(after.leads[0]).toMatchObject({ state: null, stageChanges: [], outbox: [] });
    expect(after.suppressions).toMatchObject([
      { address: lead.email, reason: 'erased', at: expect.stringMatching(ISO) },
    ]);
    expect(after.exportedAt).toMatch(ISO);
    expect(LeadClient.keyOf(lead).workflowId).toBe(workflowId);
    // Temporal deletes closed runs in the background: wait until no run of the lead is left.
    await eventually(async () => expect(await runsOf(t.h.client.temporal, workflowId)).toEqual([]), 120_000);
    await expect(t.h.client.temporal.workflow.getHandle(workflowId).describe()).rejects.toThrow(
      WorkflowNotFoundError,
    );
  }, 180_000);

  it('answers bad input with a 400 naming the field, and no key with a 401', async () => {
    const bad = await post('/v1/leads/forget', { lead: { email: 'not-an-email' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ code: 'validation' });
    expect(JSON.stringify(bad.json().issues)).toContain('lead');
    expect((await post('/v1/leads/export', { lead: { externalId: 'x' } }, false)).statusCode).toBe(401);
    const spec = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    expect(Object.keys(spec.paths)).toEqual(expect.arrayContaining(['/v1/leads/forget', '/v1/leads/export']));
  });
});
