import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { readOutbox } from '../../src/activities/index.js';
import {
  countLeadsPerVersion,
  LeadClient,
  type LeadRef,
  LeadValidationError,
  rollOut,
  StaleConfigVersionError,
} from '../../src/client/index.js';
import { type ConfigVersion, ConfigVersions } from '../../src/config-versions.js';
import type { Effect } from '../../src/machines/index.js';
import { FIT } from '../support/lead.js';
import { devServerLeads, eventually } from '../support/workflow.js';

/**
 * Config versions rolled out to running leads (src/config-versions.ts, the workflow's `config`
 * update): they carry on under the new config with their state, deterministically (their
 * histories replay), and can be rolled back.
 */
const t = devServerLeads();
let n = 0;

async function storeAndClient() {
  const store = new ConfigVersions(await mkdtemp(join(tmpdir(), 'leadcycle-config-')));
  const client = new LeadClient(t.h.client.temporal, { taskQueue: t.h.taskQueue, configSource: store });
  return { store, client };
}

const newRef = (name: string): LeadRef => ({
  tenant: `rollout-${Date.now()}-${++n}`,
  email: `${name}@acme.example`,
});

/** A content download is worth 40 here: one form makes a persona-fit lead at 40, under the MQL threshold of 50. */
const AT_40 = { points: { content_download: 40 } };

async function leadAt40(client: LeadClient, ref: LeadRef) {
  const profile = { ...FIT, email: 'email' in ref ? ref.email : FIT.email };
  const view = await client.capture(ref, {
    type: 'form.submitted',
    form: 'content_download',
    consent: true,
    profile,
  });
  expect(view.score).toBe(40);
  return view;
}

const rolloutOf = (v: ConfigVersion) => ({ version: v.id, config: v.config });

/** Runs `fn` over `items`, `width` at a time. */
async function inBatches<T, R>(items: T[], width: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += width)
    out.push(...(await Promise.all(items.slice(i, i + width).map(fn))));
  return out;
}

describe('config versions rolled out to running leads', () => {
  it('a config rolled out to 50 running leads changes their thresholds; their histories replay; rollback rolls it back', async () => {
    const { store, client } = await storeAndClient();
    await t.h.run(async () => {
      const v1 = await store.add(AT_40, 'a download is worth 40');
      const refs = Array.from({ length: 50 }, (_, i) => newRef(`lead-${i}`));
      const before = await inBatches(refs, 5, (ref) => leadAt40(client, ref));
      expect(before.every((v) => v.stage === 'lead' && v.configVersion === v1.id)).toBe(true);
      await eventually(async () =>
        expect(await countLeadsPerVersion(client)).toEqual({ leadsPerVersion: { [v1.id]: 50 }, running: 50 }),
      );

      // A lower MQL threshold: every lead at 40 qualifies at once, without waiting for its next event.
      const v2 = await store.add({ ...v1.config, mqlThreshold: 30 }, 'lower the MQL threshold');
      const report = await rollOut(client, v2, { concurrency: 8 });
      expect(report).toEqual({ version: v2.id, applied: 50, failed: [] });
      const after = await inBatches(refs, 10, (ref) => client.get(ref));
      expect(after.map((v) => [v.stage, v.configVersion])).toEqual(refs.map(() => ['mql', v2.id]));
      await eventually(async () =>
        expect(await countLeadsPerVersion(client)).toEqual({ leadsPerVersion: { [v2.id]: 50 }, running: 50 }),
      );
      // A rollout retried (the same version again) changes nothing; an older version is refused.
      const [first] = refs as [LeadRef];
      const { workflowId } = await client.locate(first);
      expect((await client.reconfigure(workflowId, rolloutOf(v2))).configVersion).toBe(v2.id);
      await expect(client.reconfigure(workflowId, { version: v1.id, config: v1.config })).rejects.toThrow(
        StaleConfigVersionError,
      );

      // Deterministic: each lead's history replays through today's workflow code.
      const histories = await inBatches(refs, 10, async (ref) => {
        const id = (await client.locate(ref)).workflowId;
        return { workflowId: id, history: await client.temporal.workflow.getHandle(id).fetchHistory() };
      });
      const replayed = Worker.runReplayHistories(
        { workflowBundle: { codePath: inject('workflowBundlePath') } },
        histories,
      );
      const errors: string[] = [];
      for await (const { workflowId: id, error } of replayed)
        if (error) errors.push(`${id}: ${error.message}`);
      expect(errors).toEqual([]);

      // Rollback: the previous config again, as a new version; a new lead at 40 stays a lead under it.
      const v3 = await store.rollback();
      expect(v3).toMatchObject({ id: 3, note: 'rollback to version 1' });
      expect(v3.config).toEqual(v1.config);
      expect(await rollOut(client, v3)).toEqual({ version: v3.id, applied: 50, failed: [] });
      const fresh = await leadAt40(client, newRef('fresh'));
      expect([fresh.stage, fresh.configVersion]).toEqual(['lead', v3.id]);
      await eventually(async () =>
        expect(await countLeadsPerVersion(client)).toEqual({ leadsPerVersion: { [v3.id]: 51 }, running: 51 }),
      );
    });
  }, 240_000);

  it('a lead that used up its family receives an item added to the catalog while it waits', async () => {
    const { store, client } = await storeAndClient();
    const item = (i: number) => ({
      id: `guide-${i}`,
      title: `Guide ${i}`,
      url: `https://example.com/guide-${i}`,
    });
    const tiny = {
      nurtureCadenceDays: 1 / 86_400, // one second
      content: { discovery: [item(1)], evaluation: [], decision: [], newsletter: [] },
    };
    await t.h.run(async () => {
      const v1 = await store.add(tiny);
      const ref = newRef('waiting');
      const profile = { ...FIT, email: 'email' in ref ? ref.email : FIT.email };
      await client.capture(ref, { type: 'form.submitted', form: 'content_download', consent: true, profile });
      const { leadKey, workflowId } = await client.locate(ref);
      const sent = async () =>
        (await readOutbox(t.h.dataDir, { kind: 'email', leadKey })).map(
          (r) => (r.payload as { content: Extract<Effect, { type: 'content.send' }> }).content.item.id,
        );
      await eventually(async () => expect(await sent()).toEqual(['guide-1']));
      // Its family used up: it waits with no nurture timer.
      const waiting = await client.get(ref);
      expect(waiting.next.map((d) => d.event)).not.toContain('tick.nurture');
      expect(waiting.configVersion).toBe(v1.id);

      // A bad config is refused by the lead, naming the field; the lead keeps its version.
      await expect(
        client.reconfigure(workflowId, {
          version: 99,
          config: { ...v1.config, mqlThreshold: 'high' } as never,
        }),
      ).rejects.toSatisfy(
        (err) =>
          err instanceof LeadValidationError &&
          err.issues.some((i) => i.path.join('.') === 'config.mqlThreshold'),
      );

      const v2 = await store.add({
        ...v1.config,
        content: { ...v1.config.content, discovery: [item(1), item(2)] },
      });
      const view = await client.reconfigure(workflowId, rolloutOf(v2));
      expect(view.configVersion).toBe(v2.id);
      await eventually(async () => expect(await sent()).toEqual(['guide-1', 'guide-2']));
      const done = await client.get(ref);
      expect(done.state.context.nurture.sentIds).toEqual(['guide-1', 'guide-2']);
    });
  }, 60_000);
});
