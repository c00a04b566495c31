import { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApi } from '../../src/api/server.js';
import { LeadClient } from '../../src/client/index.js';
import { LeadIds } from '../../src/client/lead-key.js';
import { simulate } from '../../src/simulator/index.js';

const API_KEY = 'simulations-test-key-0123456789abcdef';
const auth = { authorization: `Bearer ${API_KEY}` };
const journey = {
  events: [
    {
      day: 0,
      command: {
        type: 'form.submitted',
        form: 'content_download',
        consent: true,
        profile: { email: 'lin@example.com', companySize: 300, sector: 'software', jobFunction: 'it' },
      },
    },
  ],
};

let app: Awaited<ReturnType<typeof buildApi>>;
beforeAll(async () => {
  // Never called: the simulations run on their own server.
  const client = new LeadClient(new Client(), { leadIds: new LeadIds('k'.repeat(32)) });
  app = await buildApi({
    client,
    apiKeys: [API_KEY],
    simulations: {
      run: (o) => simulate({ ...o, workflowBundle: { codePath: inject('workflowBundlePath') } }),
    },
  });
});
afterAll(async () => {
  await app?.close();
});

describe('POST /v1/simulations', () => {
  it('refuses a journey naming the field, and needs an API key', async () => {
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/simulations',
      headers: auth,
      payload: { journey: { events: [{ day: 1, command: { type: 'engagement', kind: 'dancing' } }] } },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().issues.map((i: { path: string }) => i.path)).toContain('journey.events.0.command.kind');
    const late = await app.inject({
      method: 'POST',
      url: '/v1/simulations',
      headers: auth,
      payload: { journey, days: 0.5 },
    });
    expect(late.statusCode).toBe(200); // day 0 is within half a day
    const anonymous = await app.inject({ method: 'POST', url: '/v1/simulations', payload: { journey } });
    expect(anonymous.statusCode).toBe(401);
  });

  it('answers what the lead received, one simulation at a time (429 with Retry-After when busy)', async () => {
    const request = () =>
      app.inject({ method: 'POST', url: '/v1/simulations', headers: auth, payload: { journey, days: 60 } });
    const [first, second] = await Promise.all([request(), request()]);
    const statuses = [first.statusCode, second.statusCode].sort();
    expect(statuses).toEqual([200, 429]);
    const busy = first.statusCode === 429 ? first : second;
    expect(busy.headers['retry-after']).toBe('10');
    const done = (first.statusCode === 200 ? first : second).json();
    expect(done.stages.map((s: { to: string }) => s.to)).toEqual(['visitor', 'lead']);
    expect(done.emails.map((e: { item: string }) => e.item)).toEqual([
      'discovery-1',
      'discovery-2',
      'discovery-3',
      'discovery-4',
      'discovery-5',
      'discovery-6',
    ]);
    const svg = await app.inject({
      method: 'POST',
      url: '/v1/simulations?format=svg',
      headers: auth,
      payload: { journey, days: 60 },
    });
    expect(svg.statusCode).toBe(200);
    expect(svg.headers['content-type']).toMatch(/^image\/svg\+xml/);
    expect(svg.body).toMatch(/^<svg[\s\S]*discovery-1[\s\S]*<\/svg>\s*$/);
    const spec = (await app.inject('/openapi.json')).json();
    expect(spec.paths['/v1/simulations'].post.operationId).toBe('simulate');
  });
});
