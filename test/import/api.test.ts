/** POST /v1/imports and GET /v1/imports/{id}, over real HTTP with a real worker and the dev server. */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiStack, startApiStack } from '../api/support.js';
import { eventually } from '../support/workflow.js';

const fixture = (name: string) =>
  readFile(fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url)), 'utf8');
let api: ApiStack;
const tenant = `impapi-${Date.now()}`;

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

beforeAll(async () => {
  api = await startApiStack((h) => ({ imports: { dataDir: h.dataDir, bodyLimit: 64 * 1024 } }));
});
afterAll(() => api?.close());

describe('POST /v1/imports', () => {
  it('runs a HubSpot export as a job, its rejected rows with line and field, and resumes it when posted again', async () => {
    const content = await fixture('hubspot-contacts.csv');
    const started = await api.call('POST', '/v1/imports', { body: { content, preset: 'hubspot', tenant } });
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe(`/v1/imports/${started.json.id}`);
    const job = await eventually(async () => {
      const got = await api.call('GET', `/v1/imports/${started.json.id}`);
      expect(got.json.status).toBe('succeeded');
      return got.json;
    });
    expect(job.progress).toMatchObject({ total: 6, imported: 3, rejected: 3, consentWithdrawn: 1 });
    // Its times answer as ISO 8601, UTC.
    expect(started.json.createdAt).toMatch(ISO);
    expect(Date.parse(job.finishedAt)).toBeGreaterThanOrEqual(Date.parse(job.createdAt));
    expect(job.rejections.map((r: { line: number; field: string }) => [r.line, r.field])).toEqual([
      [4, 'Email'],
      [5, 'Number of Employees'],
      [5, 'Became a Lead Date'],
      [5, 'Unsubscribed from all email'],
      [7, 'Lifecycle Stage'],
    ]);
    expect((await api.h.client.get({ tenant, email: 'ada@analytical.example' })).consent).toBe('unknown');

    const again = await api.call('POST', '/v1/imports', { body: { content, preset: 'hubspot', tenant } });
    expect(again.json.id).toBe(started.json.id);
    const resumed = await eventually(async () => {
      const got = await api.call('GET', `/v1/imports/${again.json.id}`);
      expect(got.json.status).toBe('succeeded');
      return got.json;
    });
    expect(resumed.progress).toMatchObject({ imported: 0, rejected: 0, skipped: 6 });
  });

  it('answers a clear 400 for a missing column or a body without preset or mapping, 413 past its limit, 401 without a key', async () => {
    const missing = await api.call('POST', '/v1/imports', {
      body: { content: 'First Name\nAda\n', preset: 'hubspot', tenant },
    });
    expect(missing.status).toBe(400);
    expect(missing.json.code).toBe('missing_column');
    expect(missing.json.detail).toMatch(/"Email"/);
    const neither = await api.call('POST', '/v1/imports', {
      body: { content: 'Email\na@b.example\n', tenant },
    });
    expect(neither.status).toBe(400);
    expect(neither.json.issues[0].path).toBe('preset');
    const big = await api.call('POST', '/v1/imports', {
      body: { content: `Email\n${'x@y.example\n'.repeat(7000)}`, preset: 'hubspot', tenant },
    });
    expect(big.status).toBe(413);
    expect(big.json.detail).toContain(String(64 * 1024));
    const anonymous = await api.call('POST', '/v1/imports', {
      body: { content: 'Email\n', preset: 'hubspot' },
      auth: false,
    });
    expect(anonymous.status).toBe(401);
    expect((await api.call('GET', '/v1/imports/imp-nope')).status).toBe(404);
  });
});
