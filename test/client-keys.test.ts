/** Lead keys: one lead per (tenant, email) or (tenant, external id), and no two refs share a key. */
import { Client } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { buildApi } from '../src/api/server.js';
import {
  LeadClient,
  type LeadRef,
  LeadValidationError,
  leadKeyOf,
  legacyWorkflowIdOf,
} from '../src/client/index.js';

const TENANT_ISSUE = expect.stringMatching(/no ":"/);

describe('lead keys', () => {
  it('keeps the keys, and the unkeyed ids legacy leads are found under, computed before tenants had an alphabet', () => {
    // Computed with the code before the change: a valid tenant must never move to another lead key,
    // and a lead started before keyed ids is found again (LEADCYCLE_LEAD_IDS=legacy) under this id.
    const before: Array<[LeadRef, string, string]> = [
      [
        { email: 'Ada@Example.com ' },
        'default:email:ada@example.com',
        'lead-a4c44b32d46a773810645d25e1cc7121',
      ],
      [
        { tenant: 'acme', email: 'ada@example.com' },
        'acme:email:ada@example.com',
        'lead-52957148046e1fb0e466be4059c01215',
      ],
      [
        { tenant: ' acme.eu_2-x ', externalId: 'hubspot:123' },
        'acme.eu_2-x:ext:hubspot:123',
        'lead-00b1cfe4057ffc8f43b2a390d72eb605',
      ],
      [{ tenant: 'A', externalId: 'x' }, 'A:ext:x', 'lead-8337a0ada1e7e8578e58fc7a7af2d3f5'],
    ];
    for (const [ref, leadKey, workflowId] of before) {
      expect(LeadClient.keyOf(ref).leadKey, JSON.stringify(ref)).toBe(leadKey);
      expect(legacyWorkflowIdOf(leadKey), JSON.stringify(ref)).toBe(workflowId);
    }
  });

  it('refuses a tenant with a colon, so two refs can no longer share a key', () => {
    // Both were `a:ext:x:email:b@c.example`: one lead for two different people.
    expect(leadKeyOf({ tenant: 'a', externalId: 'x:email:b@c.example' })).toBe('a:ext:x:email:b@c.example');
    let error: unknown;
    try {
      LeadClient.keyOf({ tenant: 'a:ext:x', email: 'b@c.example' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(LeadValidationError);
    expect((error as LeadValidationError).issues).toEqual([{ path: ['tenant'], message: TENANT_ISSUE }]);
  });

  it('keeps external ids with colons valid, and refuses tenants outside the alphabet', () => {
    expect(LeadClient.keyOf({ tenant: 'acme', externalId: 'hubspot:123' }).leadKey).toBe(
      'acme:ext:hubspot:123',
    );
    for (const tenant of ['', ' ', '-acme', '.acme', 'ac me', 'acme/eu', 'acmé', 'a'.repeat(101)]) {
      expect(() => LeadClient.keyOf({ tenant, email: 'b@c.example' }), tenant).toThrow(LeadValidationError);
    }
    expect(LeadClient.keyOf({ tenant: 'a'.repeat(100), email: 'b@c.example' }).leadKey).toMatch(/^a{100}:/);
  });

  it('answers a tenant with a colon at the API with a 400 naming lead.tenant', async () => {
    // The refusal comes from the schema, before any Temporal call: a lazy client never connects.
    const app = await buildApi({ client: new LeadClient(new Client()), apiKeys: ['k'.repeat(32)] });
    try {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/leads/capture',
        headers: { authorization: `Bearer ${'k'.repeat(32)}` },
        payload: { lead: { tenant: 'a:ext:x', email: 'b@c.example' }, command: { type: 'visit' } },
      });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({
        code: 'validation',
        issues: [{ in: 'body', path: 'lead.tenant', message: TENANT_ISSUE }],
      });
    } finally {
      await app.close();
    }
  });
});
