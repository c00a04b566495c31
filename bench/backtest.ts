/**
 * Backtest: a what-if (MQL threshold 60 instead of 50) replayed over N journaled leads from the
 * SQLite store, as `leadcycle backtest` runs it (the replays spread over one thread per core), and
 * in the same run on one thread (the replay in the thread that reads the journal, as before the
 * pool): the ratio between them is this machine's, the report must be the same. The leads are
 * generated (`journalPopulation`, seeded) and driven through the machine as live workflows would
 * drive them; the store is kept between runs (it takes minutes to fill) in the data dir given.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  Analytics,
  backtest,
  byLead,
  defaultReplayThreads,
  openAnalyticsStore,
  replayPool,
} from '../src/analytics/index.js';
import { journalPopulation, recordPopulation } from '../test/support/population.js';

export interface BacktestResults {
  leads: number;
  journalEvents: number;
  stageChanges: number;
  generatedSeconds: number | null;
  readJournalSeconds: number;
  /** The what-if, end to end: read the recorded changes and the journal, replay, tally. */
  backtestSeconds: number;
  leadsPerSecond: number;
  /** Replay threads of that run. */
  threads: number;
  /** The same what-if replayed in the reading thread, in the same run (null when skipped). */
  oneThreadSeconds: number | null;
  /** Whether both runs gave the same report (they must). */
  sameReport: boolean | null;
  /** Machine transitions in the replay (journaled events + timer events). */
  transitionsPerSecond: number;
  timersPerLead: number;
  mql: { actual: number; whatIf: number };
  reports: { stagesSeconds: number; conversionSeconds: number; forecastSeconds: number };
  dbMiB: number;
}

const FROM = Date.UTC(2025, 0, 1);
const TO = Date.UTC(2025, 11, 31);
const UNTIL = Date.UTC(2026, 5, 30);
const CHUNK = 5_000;
const f = (n: number) => n.toFixed(1);

export async function runBacktest(
  options: { leads: number; dataDir: string; threads?: number; oneThread: boolean },
  log: (line: string) => void,
): Promise<BacktestResults> {
  const file = join(options.dataDir, 'leadcycle.db');
  const store = openAnalyticsStore(options.dataDir);
  try {
    let leads = 0;
    let journalEvents = 0;
    let t = performance.now();
    for await (const { events } of store.journal()) {
      leads++;
      journalEvents += events.length;
    }
    const readJournalSeconds = (performance.now() - t) / 1000;

    let generatedSeconds: number | null = null;
    if (leads !== options.leads) {
      if (leads > 0)
        throw new Error(`${file} holds ${leads} leads, not ${options.leads}: remove it to regenerate`);
      log(`backtest: generating ${options.leads} journaled leads into ${file} (kept for later runs)`);
      t = performance.now();
      for (let start = 0; start < options.leads; start += CHUNK) {
        const chunk = journalPopulation({
          seed: 1_000 + start,
          leads: Math.min(CHUNK, options.leads - start),
          from: FROM,
          to: TO,
          idPrefix: `bench-${start}-`,
        });
        await recordPopulation(store, chunk);
        log(`backtest: ${start + chunk.length} leads`);
      }
      generatedSeconds = (performance.now() - t) / 1000;
      return runBacktest(options, log).then((r) => ({ ...r, generatedSeconds }));
    }

    log(`backtest: ${leads} leads, ${journalEvents} journaled events; replaying with mqlThreshold 60`);
    const analytics = new Analytics(store, () => UNTIL);
    // What `leadcycle backtest` does (Analytics.backtest), with a hook that counts the timers.
    let timers = 0;
    const threads = options.threads ?? defaultReplayThreads();
    const whatIf = async (pooled: boolean) => {
      const start = performance.now();
      const report = await backtest(store.journal(), [{ label: 'MQL at 60', config: { mqlThreshold: 60 } }], {
        until: UNTIL,
        recorded: byLead(await store.stageChanges()),
        ...(pooled ? { replayer: replayPool(threads) } : {}),
        onTimers: ([fed]) => {
          timers = fed ?? 0;
        },
      });
      return { report, seconds: (performance.now() - start) / 1000 };
    };
    const { report, seconds: backtestSeconds } = await whatIf(true);
    log(`backtest: ${f(backtestSeconds)} s on ${threads} replay threads`);
    const one = options.oneThread ? await whatIf(false) : null;
    if (one) log(`backtest: ${f(one.seconds)} s in one thread`);

    const stageChanges = (await store.stageChanges()).length;
    const timed = async (fn: () => Promise<unknown>) => {
      const s = performance.now();
      await fn();
      return (performance.now() - s) / 1000;
    };
    const reports = {
      stagesSeconds: await timed(() => analytics.stages()),
      conversionSeconds: await timed(() => analytics.conversion({ from: FROM, to: TO })),
      forecastSeconds: await timed(() => analytics.forecast()),
    };
    const mqlOf = (i: number) => report.series[i]?.funnel.find((s) => s.stage === 'mql')?.leads ?? 0;
    const dbMiB = existsSync(file) ? statSync(file).size / 2 ** 20 : 0;
    return {
      leads: report.leads,
      journalEvents,
      stageChanges,
      generatedSeconds,
      readJournalSeconds,
      backtestSeconds,
      leadsPerSecond: report.leads / backtestSeconds,
      threads,
      oneThreadSeconds: one?.seconds ?? null,
      sameReport: one ? JSON.stringify(one.report) === JSON.stringify(report) : null,
      transitionsPerSecond: (journalEvents + timers) / backtestSeconds,
      timersPerLead: timers / report.leads,
      mql: { actual: mqlOf(0), whatIf: mqlOf(1) },
      reports,
      dbMiB,
    };
  } finally {
    await store.close();
  }
}
