import { Worker } from '@temporalio/worker';
import { describe, expect, inject, it } from 'vitest';
import { loadHistories } from '../support/histories.js';

/**
 * Histories recorded from the integration tests (`npm run record-histories`) replayed against
 * today's workflow code: a change that is not deterministic fails here, before it reaches a lead.
 */
describe('replay of recorded histories', () => {
  it('every checked-in history replays without a nondeterminism error', async () => {
    const histories = await loadHistories();
    expect(histories.length).toBeGreaterThanOrEqual(5);
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      histories.map(({ workflowId, history }) => ({ workflowId, history })),
    );
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of results) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(histories.length);
  });
});
