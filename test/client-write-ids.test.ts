/**
 * LeadClient writes with an id of their own (`updateId` for commands, `requestId` for facts): a retry
 * with the same id is applied once, by Temporal, whoever retries. Encrypted, as the entry points run.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LeadClient, LeadNotFoundError, LeadValidationError } from '../src/client/index.js';
import { createDevServerEnv } from './support/temporal.js';
import { eventually, type LeadHarness, leadHarness } from './support/workflow.js';

let env: TestWorkflowEnvironment;
let h: LeadHarness;
const PRICING = { type: 'engagement', kind: 'pricing_page' } as const;
const tenant = `write-ids-${Date.now()}`;

beforeAll(async () => {
  env = await createDevServerEnv();
  h = await leadHarness(env, { encrypted: true });
});
afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

async function history(ref: { tenant: string; externalId: string }) {
  const { events } = await h.client.temporal.workflow
    .getHandle(LeadClient.keyOf(ref).workflowId)
    .fetchHistory();
  return {
    updates: (events ?? []).filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes).length,
    signals: (events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length,
  };
}

describe('LeadClient write ids', () => {
  it('capture and send with the same updateId apply once and answer the first outcome', async () => {
    const ref = { tenant, externalId: 'update-id' };
    const captured = await h.run(() => h.client.capture(ref, { type: 'visit' }, { updateId: 'capture-1' }));
    expect(await h.run(() => h.client.capture(ref, { type: 'visit' }, { updateId: 'capture-1' }))).toEqual(
      captured,
    );
    const sent = await h.run(() => h.client.send(ref, PRICING, { updateId: 'send-1' }));
    const again = await h.run(() => h.client.send(ref, PRICING, { updateId: 'send-1' }));
    const byId = await h.run(() =>
      h.client.sendById(LeadClient.keyOf(ref).workflowId, PRICING, { updateId: 'send-1' }),
    );
    expect(again).toEqual(sent);
    expect(byId).toEqual(sent);
    expect(Math.round(sent.score) - Math.round(captured.score)).toBe(10);
    expect((await h.client.get(ref)).score).toBe(sent.score);
    expect(await history(ref)).toMatchObject({ updates: 2 });
    // Without an id, each call is its own update.
    await h.run(() => h.client.send(ref, PRICING));
    await h.run(() => h.client.send(ref, PRICING));
    expect(await history(ref)).toMatchObject({ updates: 4 });
  });

  it('track with the same requestId is one signal; without one, each call is', async () => {
    const ref = { tenant, externalId: 'request-id' };
    const captured = await h.run(() => h.client.capture(ref, { type: 'visit' }));
    await h.run(() => h.client.track(ref, PRICING, { requestId: 'fact-1' }));
    await h.run(() => h.client.track(ref, PRICING, { requestId: 'fact-1' }));
    await h.run(() => h.client.track(ref, PRICING));
    await h.run(() => h.client.track(ref, PRICING));
    await eventually(async () => expect(await history(ref)).toEqual({ updates: 1, signals: 3 }));
    await eventually(async () => {
      const view = await h.client.get(ref);
      expect(Math.round(view.score) - Math.round(captured.score)).toBe(30);
    });
  });

  it('a bad id is a validation error naming it; a keyed fact to no lead is a LeadNotFoundError', async () => {
    const ref = { tenant, externalId: 'bad-ids' };
    for (const updateId of ['', 'x'.repeat(256)]) {
      await expect(h.client.capture(ref, { type: 'visit' }, { updateId })).rejects.toMatchObject({
        issues: [expect.objectContaining({ path: ['updateId'] })],
      });
      await expect(h.client.send(ref, { type: 'visit' }, { updateId })).rejects.toBeInstanceOf(
        LeadValidationError,
      );
    }
    await expect(
      h.client.track(ref, { type: 'visit', channel: 'web' }, { requestId: '' }),
    ).rejects.toMatchObject({
      issues: [expect.objectContaining({ path: ['requestId'] })],
    });
    await expect(
      h.run(() =>
        h.client.track(
          { tenant, externalId: 'never-captured' },
          { type: 'visit', channel: 'web' },
          { requestId: 'r' },
        ),
      ),
    ).rejects.toBeInstanceOf(LeadNotFoundError);
  });

  it('a retry of an updateId applied by an earlier run (across continue-as-new) is not applied again', async () => {
    const small = await leadHarness(env, { encrypted: true, continueAsNewAt: { updates: 2 } });
    const ref = { tenant, externalId: 'across-runs' };
    try {
      await small.run(async () => {
        await small.client.capture(ref, { type: 'visit' }, { updateId: 'runs-capture' });
        const first = await small.client.send(ref, PRICING, { updateId: 'runs-send' });
        const { workflowId } = LeadClient.keyOf(ref);
        // Two updates: the run continues as new; wait until the next run answers.
        await eventually(async () => {
          const runs = [];
          for await (const run of small.client.temporal.workflow.list({
            query: `WorkflowId = '${workflowId}'`,
          }))
            runs.push(run.status.name);
          expect(runs).toContain('CONTINUED_AS_NEW');
        });
        const retried = await small.client.send(ref, PRICING, { updateId: 'runs-send' });
        const recaptured = await small.client.capture(ref, { type: 'visit' }, { updateId: 'runs-capture' });
        expect(retried.score).toBe(first.score);
        expect(recaptured.score).toBe(first.score);
        // A new id is still applied in the new run.
        const next = await small.client.send(ref, PRICING, { updateId: 'runs-send-2' });
        expect(Math.round(next.score - first.score)).toBe(10);
      });
    } finally {
      await small.close();
    }
  });
});
