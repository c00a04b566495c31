import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Analytics, backtest, openAnalyticsStore, replayLead } from '../../src/analytics/index.js';
import { createLeadCycle, DAY_MS } from '../../src/machines/index.js';
import { journalPopulation, recordPopulation } from '../support/population.js';

const FROM = Date.UTC(2026, 0, 1);
const TO = Date.UTC(2026, 6, 1);
const UNTIL = Date.UTC(2026, 11, 31);
const population = journalPopulation({ seed: 11, leads: 1_500, from: FROM, to: TO });

async function* journalOf(leads = population) {
  for (const { lead, events } of leads) yield { lead, events };
}
const recorded = new Map(population.map((p) => [p.lead.leadId, p.changes]));
const funnel = (series: { funnel: { stage: string; leads: number }[] } | undefined) =>
  Object.fromEntries(series?.funnel.map((s) => [s.stage, s.leads]) ?? []);

describe('replay', () => {
  it('under the config the leads ran with, reproduces every recorded stage change exactly', () => {
    const cycle = createLeadCycle({});
    for (const { lead, events, changes } of population) {
      const last = events.at(-1)?.at ?? lead.createdAt;
      const replayed = replayLead(cycle, lead, events, last);
      expect(replayed.refused).toBe(0);
      expect(replayed.changes).toEqual(changes);
    }
  });

  it('feeds the timers of the replayed config: a shorter decay tick means more ticks', () => {
    const sample = population.find((p) => p.events.length > 3);
    if (!sample) throw new Error('the population has no lead with more than 3 events');
    const { lead, events } = sample;
    const weekly = replayLead(createLeadCycle({}), lead, events, UNTIL);
    const daily = replayLead(createLeadCycle({ decayTickDays: 1 }), lead, events, UNTIL);
    expect(daily.timers).toBeGreaterThan(weekly.timers);
  });
});

describe('what-if backtest', () => {
  it('MQL threshold 60 instead of 50: exactly the fitting leads with 60+ points become MQLs', async () => {
    const report = await backtest(journalOf(), [{ label: 'MQL at 60', config: { mqlThreshold: 60 } }], {
      until: UNTIL,
      recorded,
    });
    const [actual, whatIf] = report.series;
    expect(report.leads).toBe(population.length);
    expect(actual?.label).toBe('actual');
    expect(funnel(actual).mql).toBe(population.filter((p) => p.fits && p.burstPoints >= 50).length);
    expect(funnel(whatIf).mql).toBe(population.filter((p) => p.fits && p.burstPoints >= 60).length);
    expect(funnel(whatIf).mql).toBeLessThan(funnel(actual).mql ?? 0);
    // Sales' answers to MQLs the new threshold never makes are refused, not invented.
    expect(whatIf?.refusedEvents).toBeGreaterThan(0);
    expect(funnel(whatIf).customer).toBeLessThanOrEqual(funnel(actual).customer ?? 0);
  });

  it('the same config replayed gives the actual funnel', async () => {
    const report = await backtest(journalOf(), [{ label: 'as is', config: {} }], { until: UNTIL, recorded });
    expect(funnel(report.series[1])).toEqual(funnel(report.series[0]));
    expect(report.series[1]?.refusedEvents).toBe(0);
  });

  it('another persona: leads that no longer fit stop at lead', async () => {
    const marketingOnly = {
      personas: [{ id: 'marketing', name: 'Marketing leader', jobFunctions: ['marketing'] }],
    };
    const report = await backtest(journalOf(), [{ label: 'marketing only', config: marketingOnly }], {
      until: UNTIL,
    });
    expect(report.series).toHaveLength(1);
    expect(funnel(report.series[0]).mql).toBe(0);
  });

  it('runs from the SQLite store, where the workflows journal the leads', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'leadcycle-backtest-'));
    const store = openAnalyticsStore(dir);
    try {
      await recordPopulation(store, population.slice(0, 300));
      const analytics = new Analytics(store, () => UNTIL);
      const progress: Array<[number, number]> = [];
      const fromStore = await analytics.backtest(
        { mqlThreshold: 60 },
        { label: 'MQL at 60', onProgress: (done, total) => progress.push([done, total]) },
      );
      // The CLI's progress bar: one step a lead, of the store's 300.
      expect(progress).toHaveLength(300);
      expect(progress.at(0)).toEqual([1, 300]);
      expect(progress.at(-1)).toEqual([300, 300]);
      const inMemory = await backtest(
        journalOf(population.slice(0, 300)),
        [{ label: 'MQL at 60', config: { mqlThreshold: 60 } }],
        { until: UNTIL, recorded },
      );
      expect(fromStore).toEqual(inMemory);
      const svg = await analytics.backtestSvg(fromStore);
      expect(svg).toContain('MQL at 60');
      expect(svg).toContain('actual');
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says so when there is nothing to replay', async () => {
    await expect(
      backtest(journalOf([]), [{ label: 'x', config: {} }], { until: UNTIL }),
    ).rejects.toMatchObject({
      code: 'no_leads',
    });
  });

  it('replays only what happened by `until`', async () => {
    const early = FROM + 30 * DAY_MS;
    const report = await backtest(journalOf(), [{ label: 'as is', config: {} }], { until: early });
    const created = population.filter((p) => p.lead.createdAt <= early).length;
    expect(report.series[0]?.funnel[0]?.leads).toBe(created);
  });
});
