import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ANALYTICS_DB_FILE,
  Analytics,
  openAnalyticsStore,
  type SqliteAnalyticsStore,
  type StageChangeRow,
} from '../../src/analytics/index.js';
import { buildApi } from '../../src/api/server.js';
import { LeadClient } from '../../src/client/index.js';

/** "Tenants are whole" (issue #14): every report counts one tenant's leads when asked, and a scoped key only its own. */
const ADMIN = 'admin-key-0123456789abcdef';
const ACME = 'acme-key-0123456789abcdef';
const NOW = Date.UTC(2025, 0, 1);
const H = 3_600_000;

const change = (
  tenant: string | null,
  lead: string,
  seq: number,
  from: StageChangeRow['from'],
  to: StageChangeRow['to'],
): StageChangeRow => ({
  key: `${lead}/${seq}`,
  leadId: lead,
  seq,
  from,
  to,
  at: NOW - 10 * 24 * H + seq * H,
  cause: 'test',
  reason: null,
  amount: null,
  tenant,
});

let root: string;
let store: SqliteAnalyticsStore;
let app: FastifyInstance;
let connection: Connection;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'leadcycle-tenant-reports-'));
  store = openAnalyticsStore(root);
  // acme: two leads, one an MQL; globex: one lead.
  for (const row of [
    change('acme', 'lead-a1', 1, null, 'lead'),
    change('acme', 'lead-a1', 2, 'lead', 'mql'),
    change('acme', 'lead-a2', 1, null, 'lead'),
    change('globex', 'lead-g1', 1, null, 'lead'),
  ])
    await store.recordStageChange(row);
  // One email each: acme's lead a1 was sent one, globex's lead g1 had one suppressed.
  const email = { itemId: 'discovery-1', title: 'Discovery guide #1', at: NOW - 2 * H };
  await store.recordEmailOutcome({
    key: 'lead-a1/3',
    leadId: 'lead-a1',
    tenant: 'acme',
    ...email,
    outcome: 'sent',
    skipReason: null,
  });
  await store.recordEmailOutcome({
    key: 'lead-g1/2',
    leadId: 'lead-g1',
    tenant: 'globex',
    ...email,
    outcome: 'suppressed',
    skipReason: 'hard_bounce',
  });
  connection = Connection.lazy({ address: '127.0.0.1:1' });
  const client = new LeadClient(new Client({ connection }), { taskQueue: 'nowhere' });
  app = await buildApi({
    client,
    apiKeys: [ADMIN, `acme:${ACME}`],
    analytics: new Analytics(store, () => NOW),
  });
});

afterAll(async () => {
  await app?.close();
  await store?.close();
  await connection?.close();
  if (root) await rm(root, { recursive: true, force: true });
});

const get = async (url: string, key = ADMIN) => {
  const r = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
  return { status: r.statusCode, json: r.statusCode < 300 && url.includes('.svg') ? null : r.json() };
};
const counts = (report: { stages: Record<string, number> }) =>
  Object.fromEntries(Object.entries(report.stages).filter(([, n]) => n > 0));

describe('reports per tenant', () => {
  it("each tenant's report counts only its own leads; without a filter, every tenant's", async () => {
    expect(counts((await get('/v1/reports/stages')).json)).toEqual({ lead: 2, mql: 1 });
    expect(counts((await get('/v1/reports/stages?tenant=acme')).json)).toEqual({ lead: 1, mql: 1 });
    expect(counts((await get('/v1/reports/stages?tenant=globex')).json)).toEqual({ lead: 1 });
    const cohorts = (await get('/v1/reports/cohorts?tenant=globex')).json;
    expect(JSON.stringify(cohorts)).not.toContain('lead-a');
    for (const url of [
      '/v1/reports/conversion',
      '/v1/reports/velocity',
      '/v1/reports/sla',
      '/v1/reports/forecast',
    ]) {
      expect((await get(`${url}?tenant=globex`)).status).toBe(200);
    }
    // The attribution report counts one tenant's leads too (none of these has a touch: all under null).
    const attribution = (await get('/v1/reports/attribution?tenant=acme')).json;
    expect(attribution.total).toMatchObject({ leads: 2, mqls: 1 });
    expect(attribution.rows).toEqual([expect.objectContaining({ value: null, leads: 2 })]);
    // The email report too, its period in ISO times.
    const acmeEmail = (await get('/v1/reports/email?tenant=acme')).json;
    expect(acmeEmail.total).toMatchObject({ sent: 1, suppressed: 0 });
    const globexEmail = (await get('/v1/reports/email?tenant=globex&from=2024-12-01')).json;
    expect(globexEmail.period).toEqual({ from: '2024-12-01T00:00:00.000Z', to: '2025-01-01T00:00:00.000Z' });
    expect(globexEmail.items).toEqual([
      expect.objectContaining({ itemId: 'discovery-1', sent: 0, suppressed: 1, openRate: null }),
    ]);
    expect((await get('/v1/reports/email')).json.total).toMatchObject({ sent: 1, suppressed: 1 });
    expect((await get('/v1/charts/funnel.svg?tenant=acme')).status).toBe(200);
    expect((await get('/v1/reports/stages?tenant=not:a:tenant')).status).toBe(400);
  });

  it("a tenant-scoped key sees only its tenant's figures, and cannot read another tenant's", async () => {
    expect(counts((await get('/v1/reports/stages', ACME)).json)).toEqual({ lead: 1, mql: 1 });
    expect(counts((await get('/v1/reports/stages?tenant=acme', ACME)).json)).toEqual({ lead: 1, mql: 1 });
    const other = await get('/v1/reports/stages?tenant=globex', ACME);
    expect(other).toMatchObject({ status: 403, json: { code: 'tenant_scope' } });
    expect((await get('/v1/reports/cohorts?tenant=globex', ACME)).status).toBe(403);
    expect((await get('/v1/reports/email?tenant=globex', ACME)).status).toBe(403);
    expect((await get('/v1/reports/email', ACME)).json.total).toMatchObject({ sent: 1, suppressed: 0 });
  });

  it('the tenant column comes by migration 5, and a lead that records again fills its older rows', async () => {
    const dir = await mkdtemp(join(root, 'old-'));
    const old = openAnalyticsStore(dir);
    await old.recordStageChange(change(null, 'lead-o1', 1, null, 'lead'));
    expect(await old.stageChanges({ tenant: 'acme' })).toEqual([]);
    await old.recordStageChange(change('acme', 'lead-o1', 2, 'lead', 'mql'));
    expect((await old.stageChanges({ tenant: 'acme' })).map((r) => r.seq)).toEqual([1, 2]);
    await old.close();
    const db = new Database(join(dir, ANALYTICS_DB_FILE), { readonly: true });
    const versions = db.prepare('SELECT version FROM schema_migrations').all() as Array<{ version: number }>;
    db.close();
    expect(versions.map((v) => v.version)).toContain(5);
  });
});
