/**
 * Lead ids and suppression hashes that don't re-identify people: keyed with a per-deployment
 * secret, deterministic for that secret (captures still dedupe), and leads started under the
 * unkeyed ids of before still found with LEADCYCLE_LEAD_IDS=legacy.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowNotFoundError } from '@temporalio/client';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { readOutbox } from '../src/activities/index.js';
import { addressHash, legacyAddressHash, suppressionOf } from '../src/analytics/index.js';
import {
  LEAD_ID_SECRET_FILE,
  LeadClient,
  LeadIds,
  LeadIdsError,
  LeadNotFoundError,
  leadKeyOf,
  legacyWorkflowIdOf,
  loadLeadIds,
} from '../src/client/index.js';
import { exportPerson, forgetPerson } from '../src/privacy/index.js';
import { runsOf } from '../src/privacy/runs.js';
import { SettingsError } from '../src/settings.js';
import { commandUpdate, LEAD_WORKFLOW_TYPE, type LeadWorkflowInput } from '../src/workflows/messages.js';
import { unique } from './api/support.js';
import { privacyDeps } from './privacy/support.js';
import { FIT } from './support/lead.js';
import { devServerLeads, eventually } from './support/workflow.js';

const t = devServerLeads();

// What anyone reading ids (the Temporal UI, a log, the analytics store) can compute without the secret.
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const unkeyedId = (leadKey: string) => `lead-${sha256(leadKey).slice(0, 32)}`;
const unkeyedAddressHash = (tenant: string, address: string) => sha256(`${tenant}\n${address}`);

/** A guess list of 1,002 addresses, as an attacker builds one from names and a company's pattern. */
const FIRST = ['ada', 'grace', 'alan', 'edsger', 'barbara', 'donald', 'margaret', 'ken', 'dennis', 'frances'];
const LAST = ['lovelace', 'hopper', 'turing', 'dijkstra', 'liskov', 'knuth', 'hamilton', 'thompson'];
const GUESSES = Array.from({ length: 1002 }, (_, i) => {
  const first = FIRST[i % FIRST.length];
  const last = LAST[Math.floor(i / FIRST.length) % LAST.length];
  return `${first}.${last}${Math.floor(i / (FIRST.length * LAST.length))}@acme.example`;
});
// A third of them (334) are real leads.
const PEOPLE = GUESSES.filter((_, i) => i % 3 === 0).slice(0, 358);

const form = (email: string) =>
  ({ type: 'form.submitted', form: 'content_download', consent: true, profile: { ...FIT, email } }) as const;

describe('keyed lead ids', () => {
  it('match none of the unkeyed hashes of a guess list, ids and suppression hashes alike', () => {
    const tenant = 'acme';
    expect(new Set(GUESSES).size).toBe(1002);
    const guessedIds = new Set(GUESSES.map((g) => unkeyedId(`${tenant}:email:${g}`)));
    const guessedHashes = new Set(GUESSES.map((g) => unkeyedAddressHash(tenant, g)));
    const ids = PEOPLE.map((email) => LeadClient.keyOf({ tenant, email }).workflowId);
    const hashes = PEOPLE.map((email) => addressHash(tenant, email));
    expect(ids.filter((id) => guessedIds.has(id))).toEqual([]);
    expect(hashes.filter((h) => guessedHashes.has(h))).toEqual([]);
    // Still the shape ids had: `lead-` and 32 hex digits; hashes 64 hex digits (the store checks it).
    for (const id of ids) expect(id).toMatch(/^lead-[0-9a-f]{32}$/);
    for (const h of hashes) expect(h).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differ between two deployments, and are the same again under the same secret', () => {
    const leadKey = leadKeyOf({ tenant: 'acme', email: 'ada@acme.example' });
    const a = new LeadIds('a'.repeat(32));
    const b = new LeadIds('b'.repeat(32));
    expect(a.workflowIdOf(leadKey)).not.toBe(b.workflowIdOf(leadKey));
    expect(a.addressHash('acme', 'ada@acme.example')).not.toBe(b.addressHash('acme', 'ada@acme.example'));
    expect(new LeadIds('a'.repeat(32)).workflowIdOf(leadKey)).toBe(a.workflowIdOf(leadKey));
    // The id and the address hash never coincide, though they share the secret.
    expect(a.addressHash('acme', 'ada@acme.example').slice(0, 32)).not.toBe(a.workflowIdOf(leadKey).slice(5));
    expect(() => new LeadIds('short')).toThrow(LeadIdsError);
  });

  it('dedupe captures under one secret and keep two deployments apart, on a real worker', async () => {
    const tenant = unique();
    const email = 'grace@acme.example';
    const secret = 's'.repeat(40);
    const { temporal, taskQueue } = t.h.client;
    const first = new LeadClient(temporal, { taskQueue, leadIds: new LeadIds(secret) });
    const again = new LeadClient(temporal, { taskQueue, leadIds: new LeadIds(secret) });
    const other = new LeadClient(temporal, { taskQueue, leadIds: new LeadIds('o'.repeat(40)) });
    await t.h.run(async () => {
      await first.capture({ tenant, email }, form(email));
      await again.capture(
        { tenant, email: ' Grace@ACME.example ' },
        { type: 'engagement', kind: 'webinar_attended' },
      );
      await other.capture({ tenant, email }, form(email));
    });
    const id = (await first.locate({ tenant, email })).workflowId;
    expect(id).toBe(LeadClient.keyOf({ tenant, email }, new LeadIds(secret)).workflowId);
    expect((await other.locate({ tenant, email })).workflowId).not.toBe(id);
    // One lead under the shared secret, holding both submissions: the second capture did not start one.
    const runs = [];
    for await (const run of temporal.workflow.list({ query: `WorkflowId = '${id}'` })) runs.push(run);
    expect(runs).toHaveLength(1);
    expect((await again.get({ tenant, email })).state.context.engagement.points).toBeGreaterThan(
      (await other.get({ tenant, email })).state.context.engagement.points,
    );
  });

  it('leave the Temporal UI and the suppression table nothing a guess list matches', async () => {
    const tenant = unique();
    const people = PEOPLE.slice(0, 12);
    await t.h.run(async () => {
      for (const email of people) await t.h.client.capture({ tenant, email }, form(email));
      // A do-not-contact puts the address on the suppression list.
      await t.h.client.send(
        { tenant, email: people[0] as string },
        { type: 'consent.unsubscribed', doNotContact: true, source: 'link' },
      );
    });
    const guessedIds = new Set(GUESSES.map((g) => unkeyedId(`${tenant}:email:${g}`)));
    const guessedHashes = new Set(GUESSES.map((g) => unkeyedAddressHash(tenant, g)));
    // What the UI lists: every workflow id of the worker's task queue.
    const listed = await eventually(async () => {
      const ids: string[] = [];
      const query = `WorkflowType = '${LEAD_WORKFLOW_TYPE}' AND TaskQueue = '${t.h.taskQueue}'`;
      for await (const wf of t.h.client.temporal.workflow.list({ query })) ids.push(wf.workflowId);
      expect(ids.length).toBeGreaterThanOrEqual(people.length);
      return ids;
    });
    expect(listed.filter((id) => guessedIds.has(id))).toEqual([]);
    const rows = await eventually(async () => {
      const db = new Database(join(t.h.dataDir, 'leadcycle.db'), { readonly: true });
      try {
        const found = db
          .prepare('SELECT address_hash FROM suppressions WHERE tenant = ?')
          .all(tenant) as Array<{ address_hash: string }>;
        expect(found).toHaveLength(1);
        return found.map((r) => r.address_hash);
      } finally {
        db.close();
      }
    });
    expect(rows.filter((h) => guessedHashes.has(h))).toEqual([]);
    expect(rows).toEqual([addressHash(tenant, people[0] as string)]);
  });
});

/** A lead as the code before keyed ids started it: under the unkeyed id. */
async function startLegacyLead(tenant: string, email: string): Promise<string> {
  const leadKey = leadKeyOf({ tenant, email });
  const workflowId = legacyWorkflowIdOf(leadKey);
  expect(workflowId).toBe(unkeyedId(leadKey));
  const input: LeadWorkflowInput = { leadKey, config: {}, searchAttributes: true };
  const handle = await t.h.client.temporal.workflow.start(LEAD_WORKFLOW_TYPE, {
    workflowId,
    taskQueue: t.h.taskQueue,
    args: [input],
  });
  await handle.executeUpdate(commandUpdate, { args: [form(email)] });
  return workflowId;
}

describe('leads from before keyed ids (LEADCYCLE_LEAD_IDS=legacy)', () => {
  it('are found, commanded and captured again under their unkeyed id; new leads get keyed ids', async () => {
    const tenant = unique();
    const email = 'edsger@acme.example';
    const { temporal, taskQueue } = t.h.client;
    const keyedOnly = new LeadClient(temporal, { taskQueue });
    const legacy = new LeadClient(temporal, { taskQueue, leadIds: t.h.client.ids.withLegacy(true) });
    await t.h.run(async () => {
      const legacyId = await startLegacyLead(tenant, email);
      // Without the setting the old lead is a stranger: the fallback is what finds it.
      await expect(keyedOnly.get({ tenant, email })).rejects.toBeInstanceOf(LeadNotFoundError);

      expect(await legacy.locate({ tenant, email })).toMatchObject({ workflowId: legacyId });
      const before = await legacy.get({ tenant, email });
      expect(before.stage).toBe('lead');
      await legacy.send({ tenant, email }, { type: 'engagement', kind: 'email_open' });
      await legacy.track({ tenant, email }, { type: 'visit', page: '/pricing', channel: 'web' });
      // A capture of the same person reaches the old lead: no second lead under the keyed id.
      await legacy.capture({ tenant, email }, { type: 'engagement', kind: 'webinar_attended' });
      await expect(
        temporal.workflow.getHandle(LeadClient.keyOf({ tenant, email }).workflowId).describe(),
      ).rejects.toThrow();
      // Both reached the old lead: an email open (1 point) and a webinar (15).
      const after = await legacy.get({ tenant, email });
      expect(after.state.context.engagement.points).toBeGreaterThan(
        before.state.context.engagement.points + 15,
      );

      // A new person, through the same legacy-enabled client: a keyed id.
      const newcomer = { tenant, email: 'barbara@acme.example' };
      await legacy.capture(newcomer, form(newcomer.email));
      const { workflowId } = await legacy.locate(newcomer);
      expect(workflowId).toBe(LeadClient.keyOf(newcomer).workflowId);
      expect(workflowId).not.toBe(unkeyedId(leadKeyOf(newcomer)));
    });
  });

  it('are exported and forgotten under their unkeyed id', async () => {
    const tenant = unique();
    const email = 'alan@acme.example';
    const deps = privacyDeps(t.h);
    try {
      const legacyId = await t.h.run(() => startLegacyLead(tenant, email));
      const leadIds = t.h.client.ids.withLegacy(true);
      const exported = await exportPerson({ ...deps, leadIds }, { tenant, email });
      expect(exported.leads.map((l) => l.leadId)).toEqual([legacyId]);
      const report = await forgetPerson({ ...deps, leadIds }, { tenant, email });
      expect(report.leads).toMatchObject([{ leadId: legacyId, terminated: true }]);
      // Temporal deletes closed runs in the background: wait until no run of the lead is left.
      await eventually(async () => expect(await runsOf(t.h.client.temporal, legacyId)).toEqual([]), 120_000);
      await expect(t.h.client.temporal.workflow.getHandle(legacyId).describe()).rejects.toThrow(
        WorkflowNotFoundError,
      );
      expect(await readOutbox(t.h.dataDir, { leadKey: leadKeyOf({ tenant, email }) })).toEqual([]);
    } finally {
      await deps.close();
    }
  }, 180_000);

  it('keep an address suppressed under the unkeyed hash written before', async () => {
    const deps = privacyDeps(t.h);
    try {
      const tenant = unique();
      const address = 'ken@acme.example';
      await deps.store.suppress({
        tenant,
        addressHash: legacyAddressHash(tenant, address),
        reason: 'do_not_contact',
        at: Date.now(),
      });
      expect(legacyAddressHash(tenant, address)).toBe(unkeyedAddressHash(tenant, address));
      expect(await deps.store.suppression(tenant, addressHash(tenant, address))).toBeNull();
      expect(await suppressionOf(deps.store, tenant, address)).toMatchObject({ reason: 'do_not_contact' });
      // Through the worker: a new lead of that address is not mailed (its email is skipped).
      await t.h.run(() => t.h.client.capture({ tenant, email: address }, form(address)));
      const records = await eventually(async () => {
        const found = await readOutbox(t.h.dataDir, { leadKey: leadKeyOf({ tenant, email: address }) });
        expect(found.some((r) => r.kind === 'email.skipped')).toBe(true);
        return found;
      });
      expect(records.filter((r) => r.kind === 'email')).toEqual([]);
    } finally {
      await deps.close();
    }
  });
});

describe('loading the secret', () => {
  const dir = () => mkdtemp(join(tmpdir(), 'leadcycle-ids-'));

  it('makes one 0600 secret in a new data dir and reads the same one back', async () => {
    const dataDir = await dir();
    const env = { LEADCYCLE_DATA_DIR: dataDir };
    const first = await loadLeadIds(env);
    const file = join(dataDir, LEAD_ID_SECRET_FILE);
    expect(first.source).toBe(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect((await readFile(file, 'utf8')).trim()).toMatch(/^[0-9a-f]{64}$/);
    const leadKey = leadKeyOf({ email: 'ada@acme.example' });
    const again = await loadLeadIds(env);
    expect(again.ids.workflowIdOf(leadKey)).toBe(first.ids.workflowIdOf(leadKey));
    const elsewhere = await loadLeadIds({ LEADCYCLE_DATA_DIR: await dir() });
    expect(elsewhere.ids.workflowIdOf(leadKey)).not.toBe(first.ids.workflowIdOf(leadKey));
    expect(first.ids.legacy).toBe(false);
    // The CLI reads the secret and never makes one of its own.
    const cli = await loadLeadIds(env, { create: false });
    expect(cli.ids.workflowIdOf(leadKey)).toBe(first.ids.workflowIdOf(leadKey));
    const fresh = await dir();
    await expect(loadLeadIds({ LEADCYCLE_DATA_DIR: fresh }, { create: false })).rejects.toMatchObject({
      code: 'lead_id_secret_missing',
      message: expect.stringMatching(/^LEADCYCLE_LEAD_ID_SECRET: /),
    });
    await expect(stat(join(fresh, LEAD_ID_SECRET_FILE))).rejects.toThrow();
  });

  it('takes LEADCYCLE_LEAD_ID_SECRET first, and refuses a short one naming the variable', async () => {
    const env = { LEADCYCLE_DATA_DIR: await dir(), LEADCYCLE_LEAD_ID_SECRET: 'x'.repeat(32) };
    const loaded = await loadLeadIds(env);
    expect(loaded.source).toBe('LEADCYCLE_LEAD_ID_SECRET');
    expect(loaded.ids.workflowIdOf('a:email:b@c.example')).toBe(
      new LeadIds('x'.repeat(32)).workflowIdOf('a:email:b@c.example'),
    );
    const short = loadLeadIds({ ...env, LEADCYCLE_LEAD_ID_SECRET: 'x'.repeat(31) });
    await expect(short).rejects.toBeInstanceOf(SettingsError);
    await expect(short).rejects.toMatchObject({ issues: [{ path: ['LEADCYCLE_LEAD_ID_SECRET'] }] });
    await expect(loadLeadIds({ ...env, LEADCYCLE_LEAD_IDS: 'both' })).rejects.toMatchObject({
      issues: [{ path: ['LEADCYCLE_LEAD_IDS'] }],
    });
  });

  it('refuses a data dir of leads from before keyed ids until LEADCYCLE_LEAD_IDS says how to find them', async () => {
    const dataDir = await dir();
    await writeFile(join(dataDir, 'outbox.jsonl'), '');
    const undecided = loadLeadIds({ LEADCYCLE_DATA_DIR: dataDir });
    await expect(undecided).rejects.toBeInstanceOf(LeadIdsError);
    await expect(undecided).rejects.toMatchObject({
      code: 'lead_ids_undecided',
      message: expect.stringMatching(/^LEADCYCLE_LEAD_IDS: .*LEADCYCLE_LEAD_IDS=legacy/),
    });
    await expect(stat(join(dataDir, LEAD_ID_SECRET_FILE))).rejects.toThrow();
    const legacy = await loadLeadIds({ LEADCYCLE_DATA_DIR: dataDir, LEADCYCLE_LEAD_IDS: 'legacy' });
    expect(legacy.ids.legacy).toBe(true);
    // From now on the secret is there: the next start needs no decision again.
    expect((await loadLeadIds({ LEADCYCLE_DATA_DIR: dataDir })).ids.legacy).toBe(false);
  });
});
