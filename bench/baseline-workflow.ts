/**
 * The baseline: the least a Temporal workflow can do with the lead workflow's message pattern. It
 * takes the same `command` Update and `fact` Signal (same names, same payloads), only counts them,
 * and waits forever. Benchmarked next to the lead workflow on the same server, with the same
 * concurrency, it is the cost of Temporal itself on this machine.
 */
import { condition, defineQuery, defineSignal, defineUpdate, setHandler } from '@temporalio/workflow';

export const baselineCommandUpdate = defineUpdate<number, [unknown]>('command');
export const baselineFactSignal = defineSignal<[unknown]>('fact');
export const baselineCountQuery = defineQuery<number>('count');

export async function baselineWorkflow(): Promise<void> {
  let count = 0;
  setHandler(baselineCommandUpdate, () => ++count);
  setHandler(baselineFactSignal, () => {
    count++;
  });
  setHandler(baselineCountQuery, () => count);
  await condition(() => false);
}
