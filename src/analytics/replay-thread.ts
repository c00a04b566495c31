/**
 * The body of one replay thread (src/analytics/replay-pool.ts starts them): builds each scenario's
 * cycle once, then replays the batches of leads it is sent and posts their counts back.
 * A plain module with no host state, so it runs the same from TypeScript (tsx) and once built.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { LeadcycleError } from '../errors.js';
import { createLeadCycle } from '../machines/index.js';
import {
  type BacktestScenario,
  type JournaledLeadEvents,
  replayBatch,
  type TallyCounts,
} from './backtest.js';

export interface ReplayThreadInput {
  scenarios: BacktestScenario[];
  until: number;
}

export interface ReplayRequest {
  id: number;
  leads: JournaledLeadEvents[];
}

export type ReplayAnswer =
  | { id: number; ok: true; counts: TallyCounts[] }
  /** `code` is a LeadcycleError's; null for anything else (a bug). */
  | { id: number; ok: false; error: { name: string; code: string | null; message: string } };

const { scenarios, until } = workerData as ReplayThreadInput;
const cycles = scenarios.map((s) => createLeadCycle(s.config));

parentPort?.on('message', ({ id, leads }: ReplayRequest) => {
  let answer: ReplayAnswer;
  try {
    answer = { id, ok: true, counts: replayBatch(cycles, leads, until) };
  } catch (err) {
    const { name, message } = err instanceof Error ? err : new Error(String(err));
    answer = {
      id,
      ok: false,
      error: { name, code: err instanceof LeadcycleError ? err.code : null, message },
    };
  }
  parentPort?.postMessage(answer);
});
