/**
 * Backtest: a what-if (MQL threshold 60 instead of 50) replayed over N journaled leads from the
 * SQLite store, on one core, next to the pure machine's own speed on the same leads. The leads are
 * generated (`journalPopulation`, seeded) and driven through the machine as live workflows would
 * drive them; the store is kept between runs (it takes minutes to fill) in the data dir given.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Analytics, backtest, openAnalyticsStore } from '../src/analytics/index.js';
import { journalPopulation } from '../src/analytics/population.js';

export interface BacktestResults {
  leads: number;
  journalEvents: number;
  stageChanges: number;
  generatedSeconds: number | null;
  readJournalSeconds: number;
  /** The what-if, end to end: read the journal and the recorded changes, replay, tally. */
  backtestSeconds: number;
  leadsPerSecond: number;
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

export async function runBacktest(
  options: { leads: number; dataDir: string },
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
    let readJournalSeconds = (performance.now() - t) / 1000;

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
        for (const { lead, events, changes } of chunk) {
          await store.recordJournal(
            lead,
            events.map((event, i) => ({ leadId: lead.leadId, seq: i + 1, event })),
          );
          for (const change of changes) await store.recordStageChange(change);
        }
        log(`backtest: ${start + chunk.length} leads`);
      }
      generatedSeconds = (performance.now() - t) / 1000;
      return runBacktest(options, log).then((r) => ({ ...r, generatedSeconds }));
    }

    log(`backtest: ${leads} leads, ${journalEvents} journaled events; replaying with mqlThreshold 60`);
    const analytics = new Analytics(store, () => UNTIL);
    t = performance.now();
    const report = await analytics.backtest({ mqlThreshold: 60 }, { label: 'MQL at 60' });
    const backtestSeconds = (performance.now() - t) / 1000;

    // The same replay without the store and the tallies, to count its transitions.
    let timers = 0;
    let events = 0;
    t = performance.now();
    const counted = await backtest(store.journal(), [{ label: 'count', config: { mqlThreshold: 60 } }], {
      until: UNTIL,
      onReplay: (replay) => {
        timers += replay.timers;
      },
    });
    const replaySeconds = (performance.now() - t) / 1000;
    for await (const lead of store.journal()) events += lead.events.length;
    readJournalSeconds = Math.min(readJournalSeconds, replaySeconds);

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
    const { statSync } = await import('node:fs');
    const dbMiB = existsSync(file) ? statSync(file).size / 2 ** 20 : 0;
    return {
      leads: counted.leads,
      journalEvents: events,
      stageChanges,
      generatedSeconds,
      readJournalSeconds,
      backtestSeconds,
      leadsPerSecond: counted.leads / backtestSeconds,
      transitionsPerSecond: (events + timers) / replaySeconds,
      timersPerLead: timers / counted.leads,
      mql: { actual: mqlOf(0), whatIf: mqlOf(1) },
      reports,
      dbMiB,
    };
  } finally {
    await store.close();
  }
}
