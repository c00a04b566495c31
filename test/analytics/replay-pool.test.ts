import { describe, expect, it } from 'vitest';
import { backtest, REPLAY_BATCH, ReplayPoolError, replayPool } from '../../src/analytics/index.js';
import { journalPopulation } from '../support/population.js';

const FROM = Date.UTC(2026, 0, 1);
const TO = Date.UTC(2026, 6, 1);
const UNTIL = Date.UTC(2026, 11, 31);
// Several batches per thread, and a last one that is not full.
const population = journalPopulation({ seed: 12, leads: REPLAY_BATCH * 5 + 17, from: FROM, to: TO });
const recorded = new Map(population.map((p) => [p.lead.leadId, p.changes]));

async function* journal() {
  for (const { lead, events } of population) yield { lead, events };
}

const SCENARIOS = [
  { label: 'MQL at 60', config: { mqlThreshold: 60 } },
  { label: 'short SLA', config: { salesSlaHours: 6 } },
];

describe('replays spread over threads', () => {
  it('give the report, progress and timer counts of the replay in one thread', async () => {
    const run = async (threads: number) => {
      const progress: number[] = [];
      let timers: number[] = [];
      const report = await backtest(journal(), SCENARIOS, {
        until: UNTIL,
        recorded,
        ...(threads > 0 ? { replayer: replayPool(threads) } : {}),
        onProgress: (n) => progress.push(n),
        onTimers: (t) => {
          timers = t;
        },
      });
      return { report, progress, timers };
    };
    const one = await run(0);
    const pooled = await run(2);
    expect(pooled.report).toEqual(one.report);
    expect(pooled.timers).toEqual(one.timers);
    // The timers that can change a stage (SLAs, cooldowns, cooling, staleness) were fed.
    expect(one.timers.every((t) => t > 0)).toBe(true);
    // Batches finish in any order; the count only grows, to every lead.
    expect(pooled.progress.at(-1)).toBe(population.length);
    expect(pooled.progress).toEqual([...pooled.progress].sort((a, b) => a - b));
    expect(pooled.progress).toHaveLength(6);
  }, 60_000);

  it('a thread that cannot replay fails the backtest with a typed error', async () => {
    const bad = [{ label: 'bad', config: { mqlThreshold: 'sixty' } as never }];
    const failed = backtest(journal(), bad, { until: UNTIL, replayer: replayPool(2) });
    await expect(failed).rejects.toBeInstanceOf(ReplayPoolError);
    await expect(failed).rejects.toMatchObject({ code: 'replay_failed' });
  }, 60_000);
});
