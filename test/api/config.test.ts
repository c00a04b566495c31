import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeadClient, type LeadRef } from '../../src/client/index.js';
import { ConfigVersions } from '../../src/config-versions.js';
import { FIT } from '../support/lead.js';
import { eventually } from '../support/workflow.js';
import { API_KEY, type ApiStack, startApiStack, unique } from './support.js';

/**
 * The config rollout over HTTP (src/api/config.ts): the CLI's `config apply|status|rollback`, with a
 * real worker on the dev server, admin keys only.
 */
const SCOPED_KEY = 'acme:scoped-key-0123456789abcdef';
let api: ApiStack;
let versions: ConfigVersions;
let client: LeadClient;

beforeAll(async () => {
  versions = new ConfigVersions(await mkdtemp(join(tmpdir(), 'leadcycle-config-api-')));
  // The API's client reads the store, as in src/api/main.ts (the same instance as the routes').
  api = await startApiStack((h) => {
    client = new LeadClient(h.client.temporal, { taskQueue: h.taskQueue, configSource: versions });
    return { client, configVersions: versions, apiKeys: [API_KEY, SCOPED_KEY] };
  });
}, 60_000);
afterAll(async () => {
  await api?.close();
});

/** A content download is worth 40 here: one form makes a persona-fit lead at 40, under the MQL threshold of 50. */
const AT_40 = { points: { content_download: 40 } };

describe('config versions over HTTP', () => {
  it('POST /v1/config/versions rolls a lower MQL threshold out to the running leads; GET counts them; rollback is a new version', async () => {
    const v1 = await versions.add(AT_40, 'a download is worth 40');
    const tenant = unique();
    const refs: LeadRef[] = [
      { tenant, email: 'ada@acme.example' },
      { tenant, email: 'bob@acme.example' },
    ];
    for (const ref of refs) {
      const view = await api.h.run(() =>
        client.capture(ref, {
          type: 'form.submitted',
          form: 'content_download',
          consent: true,
          profile: { ...FIT, email: 'email' in ref ? ref.email : FIT.email },
        }),
      );
      expect([view.stage, view.score, view.configVersion]).toEqual(['lead', 40, v1.id]);
    }
    const ids = await Promise.all(refs.map((ref) => api.h.run(() => client.locate(ref))));

    // Before: no previous version to roll back to.
    const none = await api.call('POST', '/v1/config/rollback', { body: {} });
    expect(none.status).toBe(409);
    expect(none.json.code).toBe('no_previous_version');

    const applied = await api.call('POST', '/v1/config/versions', {
      body: { config: { mqlThreshold: 30 }, note: 'lower the MQL threshold' },
    });
    expect(applied.status).toBe(201);
    expect(applied.json).toMatchObject({
      version: v1.id + 1,
      note: 'lower the MQL threshold',
      applied: 2,
      failed: [],
    });
    // Only the field it names changed: the current version's points stay.
    expect(applied.json.config).toMatchObject({ mqlThreshold: 30, points: { content_download: 40 } });
    for (const { workflowId } of ids) {
      await eventually(async () => {
        const view = await api.call('GET', `/v1/leads/${workflowId}`);
        expect(view.json.stage).toBe('mql');
        expect(view.json.configVersion).toBe(v1.id + 1);
      });
    }
    await eventually(async () => {
      const status = await api.call('GET', '/v1/config');
      expect(status.status).toBe(200);
      expect(status.json).toMatchObject({
        current: { version: v1.id + 1, note: 'lower the MQL threshold', createdAt: expect.any(String) },
        leadsPerVersion: [{ version: v1.id + 1, leads: 2 }],
        running: 2,
      });
    });

    const rolled = await api.call('POST', '/v1/config/rollback', { body: { note: 'too many MQLs' } });
    expect(rolled.status).toBe(201);
    expect(rolled.json).toMatchObject({ version: v1.id + 2, note: 'too many MQLs', applied: 2, failed: [] });
    expect(rolled.json.config.mqlThreshold).toBe(50);
    expect((await versions.current())?.id).toBe(v1.id + 2);
  }, 30_000);

  it('a bad body is a 400 naming the field, and stores nothing', async () => {
    const before = await versions.ids();
    const bad = await api.call('POST', '/v1/config/versions', { body: { config: { mqlThreshold: 'high' } } });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('validation');
    expect(bad.json.issues.map((i: { path: string }) => i.path)).toContain('config.mqlThreshold');
    const unknown = await api.call('POST', '/v1/config/versions', { body: { config: {}, backtest: true } });
    expect(unknown.status).toBe(400);
    expect(unknown.json.issues.map((i: { path: string }) => i.path)).toContain('backtest');
    expect(await versions.ids()).toEqual(before);
  });

  it('config is deployment-wide: a tenant-scoped key is a 403, no key a 401', async () => {
    const scoped = { authorization: `Bearer ${SCOPED_KEY.split(':')[1]}` };
    for (const [method, path, body] of [
      ['GET', '/v1/config', undefined],
      ['POST', '/v1/config/versions', { config: { mqlThreshold: 10 } }],
      ['POST', '/v1/config/rollback', {}],
    ] as const) {
      const forbidden = await api.call(method, path, { body, headers: scoped });
      expect(forbidden.status, `${method} ${path}`).toBe(403);
      expect(forbidden.json.code).toBe('tenant_scope');
      expect((await api.call(method, path, { body, auth: false })).status, `${method} ${path}`).toBe(401);
    }
    expect((await versions.current())?.config.mqlThreshold).not.toBe(10);
  });

  it('the OpenAPI document lists the three operations', async () => {
    const doc = (await api.call('GET', '/openapi.json', { auth: false })).json;
    expect(doc.paths['/v1/config/versions'].post.operationId).toBe('applyConfig');
    expect(doc.paths['/v1/config'].get.operationId).toBe('configStatus');
    expect(doc.paths['/v1/config/rollback'].post.operationId).toBe('rollbackConfig');
  });
});
