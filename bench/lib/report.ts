/** How a run's results read: the figures table (plain or Markdown) and the worker's CPU profiles. */
import type { BacktestResults } from '../backtest.js';
import type { Kind } from '../engine.js';
import type { HistoryResults } from '../history.js';
import type { ImportBenchResults } from '../import.js';
import type { MachineResults } from '../machine.js';
import type { ScaleResults } from '../scale.js';
import type { StartsResults } from '../starts.js';
import type { EngineResults } from './engine-results.js';
import type { Environment } from './environment.js';
import { formatMarkdown, formatTable, type Row, round } from './stats.js';

/** What each phase that ran measured. */
export interface BenchResults {
  machine?: MachineResults;
  backtest?: BacktestResults;
  engine?: EngineResults;
  history?: HistoryResults;
  scale?: ScaleResults;
  import?: ImportBenchResults;
  starts?: StartsResults;
}

/** The figures of every phase that ran, one row each, in the order the table prints them. */
export function resultRows(r: BenchResults): Row[] {
  const out: Row[] = [];
  const f = (v: number, digits = 3) => String(round(v, digits));
  const { machine: m, backtest: b, engine: e, history: h, scale: s, starts: st } = r;
  if (m) {
    out.push(
      {
        section: 'machine',
        metric: 'pure transitions/s (createLeadCycle().apply)',
        value: f(m.transitionsPerSecond),
        note: `${f(m.usPerTransition)} µs each; journey of ${m.journeyEvents} events, ${m.refusedPerJourney} refused`,
      },
      { section: 'machine', metric: 'start a lead (µs)', value: f(m.usPerStart) },
      {
        section: 'machine',
        metric: 'state serialise, JSON (µs)',
        value: f(m.usPerStateSerialise),
        note: `${m.stateJsonBytes} B (continue-as-new carries it)`,
      },
      {
        section: 'machine',
        metric: 'restore from JSON (µs)',
        value: f(m.usPerRestore),
        note: 'once per run, after continue-as-new',
      },
      {
        section: 'machine',
        metric: 'update result (LeadView) JSON round trip (µs)',
        value: f(m.usPerViewSerialise),
        note: `${m.viewJsonBytes} B per update result`,
      },
      {
        section: 'machine',
        metric: 'machine work per command update in the workflow (µs)',
        value: f(m.usPerWorkflowUpdateEstimate),
        note: '2 parses + 1 apply + 1 view + 3 nextDeadline (estimate)',
      },
    );
  }
  if (b) {
    out.push(
      {
        section: 'backtest',
        metric: `what-if over ${b.leads} journaled leads (s)`,
        value: f(b.backtestSeconds),
        note: `${f(b.leadsPerSecond)} leads/s on ${b.threads} replay threads; MQLs ${b.mql.actual} actual → ${b.mql.whatIf} at threshold 60`,
      },
      ...(b.oneThreadSeconds === null
        ? []
        : [
            {
              section: 'backtest',
              metric: 'same what-if in one thread (s)',
              value: f(b.oneThreadSeconds),
              note: `threads ${f(b.oneThreadSeconds / b.backtestSeconds, 2)}× as fast; same report: ${b.sameReport ? 'yes' : 'NO'}`,
            },
          ]),
      {
        section: 'backtest',
        metric: 'replay transitions/s',
        value: f(b.transitionsPerSecond),
        note: `${b.journalEvents} journaled events + ${f(b.timersPerLead)} timer events per lead`,
      },
      {
        section: 'backtest',
        metric: 'read the journal (s)',
        value: f(b.readJournalSeconds),
        note: `SQLite ${f(b.dbMiB)} MiB; ${b.stageChanges} stage changes`,
      },
      {
        section: 'backtest',
        metric: 'reports over the store (s)',
        value: f(b.reports.conversionSeconds),
        note: `conversion; stages ${f(b.reports.stagesSeconds)} s, forecast ${f(b.reports.forecastSeconds)} s`,
      },
    );
  }
  if (e) {
    const conc = `${e.leads} leads × ${e.updatesPerLead}, median of ${e.rounds} rounds`;
    const kinds = [...new Set(e.measurements.map((m) => m.kind))];
    const label = (kind: Kind) =>
      (kind === 'baseline' ? 'baseline' : kind === 'lead' ? 'lead workflow' : `variant ${kind}`) +
      (e.codec[kind] ? ' (codec)' : '');
    const cpuTotal = (x: { cpuMsPerEvent: Record<string, number> }) =>
      f(
        Object.values(x.cpuMsPerEvent).reduce((a, b) => a + b, 0),
        2,
      );
    const cpuParts = (x: { cpuMsPerEvent: Record<string, number> }) =>
      Object.entries(x.cpuMsPerEvent)
        .map(([k, v]) => `${k} ${f(v, 2)}`)
        .join(', ');
    for (const path of ['update', 'signal'] as const) {
      for (const kind of kinds) {
        const x = e.summary[`${kind}.${path}`];
        if (!x) continue;
        out.push({
          section: 'engine',
          metric: `${label(kind)} ${path}s/s`,
          value: f(x.eventsPerSecond),
          note: `p50 ${f(x.p50Ms)} ms, p99 ${f(x.p99Ms)} ms; ${conc}`,
        });
        const r = e.ratio[kind]?.[path];
        if (r)
          out.push({
            section: 'engine',
            metric: `  ratio ${kind === 'lead' ? 'ours' : kind}/baseline (${path})`,
            value: f(r.median),
            note: `per round ${r.perRound.map((v) => f(v, 2)).join(', ')}; by CPU per ${path} ${f(r.cpu, 2)}`,
          });
        // The goals of issue 16, per update: the lead's worker CPU and tail latency near bare Temporal's.
        if (r && path === 'update')
          out.push(
            {
              section: 'engine',
              metric: `  worker CPU per update, baseline/${kind === 'lead' ? 'ours' : kind}`,
              value: f(r.workerCpu, 2),
              note: 'goal ≥ 0.9',
            },
            {
              section: 'engine',
              metric: `  p99 update latency, ${kind === 'lead' ? 'ours' : kind}/baseline`,
              value: `${f(r.p99, 2)}×`,
              note: 'goal ≤ 1.2×',
            },
          );
        out.push({
          section: 'engine',
          metric: `  history events, bytes per ${path}`,
          value: f(x.historyEventsPerEvent),
          note: `${f(x.historyBytesPerEvent)} B${
            x.eventTypes
              ? `; ${Object.entries(x.eventTypes)
                  .map(([t, n]) => `${t} ${n}`)
                  .join(', ')} (one lead)`
              : ''
          }`,
        });
        out.push({
          section: 'engine',
          metric: `  CPU ms per ${path}`,
          value: cpuTotal(x),
          note: cpuParts(x),
        });
      }
    }
    const lead = e.summary['lead.update'];
    if (lead)
      out.push({ section: 'engine', metric: 'update result size (B)', value: String(lead.resultBytes) });
    if (e.continueAsNew) {
      out.push({
        section: 'engine',
        metric: 'longest run history (1 lead, continue-as-new)',
        value: String(e.continueAsNew.maxRunHistoryLength),
        note: `${e.continueAsNew.updates} updates → ${e.continueAsNew.runs} runs (${e.continueAsNew.runHistoryLengths.join(', ')} events); warning at 10,240`,
      });
    }
  }
  if (h) {
    for (const y of h.years) {
      out.push({
        section: 'history',
        metric: `events per lead-year, ${y.scenario} lead`,
        value: f(y.eventsPerYear),
        note: `${y.days} simulated days on the time-skipping server; ${y.messages} commands, ${y.activities} activities, ${y.runs} run(s), largest ${y.maxRunHistoryLength}${y.attempts > 1 ? ` (second attempt: the first lead got stuck on the test server)` : ''}`,
      });
    }
    for (const x of h.failures) {
      out.push({
        section: 'history',
        metric: `events per lead-year, ${x.scenario} lead`,
        value: 'n/a',
        note: `did not finish in ${x.attempts} attempts: ${x.error}`,
      });
    }
    out.push({
      section: 'history',
      metric: 'events per lead-year, recorded (scaled)',
      value: f(h.recorded.eventsPerYearScaled),
      note: `${h.recorded.file}: ${h.recorded.events} events in ${h.recorded.days} days × 365/180 (cadence 2 d, 40-item catalogs)`,
    });
  }
  if (s) {
    out.push(
      {
        section: 'scale',
        metric: `open leads waiting on timers (${s.by === 'import' ? 'imported' : 'captured'})`,
        value: String(s.reached),
        note: `target ${s.target}; stopped ${s.reached < s.target ? 'by the time budget' : 'at the target'} after ${f(s.startSeconds / 60, 1)} min${s.timerSample ? `; ${s.timerSample.waitingOnTimer} of ${s.timerSample.leads} sampled wait on a timer` : ''}`,
      },
      {
        section: 'scale',
        metric:
          s.by === 'import'
            ? 'start rate (leads/s, import of a HubSpot-style CSV)'
            : 'start rate (leads/s, capture = update-with-start)',
        value: f(s.startsPerSecond),
        note: `concurrency ${s.concurrency}; ${
          s.captureP50Ms !== undefined && s.captureP99Ms !== undefined
            ? `capture p50 ${f(s.captureP50Ms)} ms, p99 ${f(s.captureP99Ms)} ms; `
            : ''
        }CPU ms per lead ${Object.entries(s.cpuMsPerStart)
          .map(([k, v]) => `${k} ${f(v, 2)}`)
          .join(', ')}`,
      },
      {
        section: 'scale',
        metric: 'server RSS (MiB)',
        value: f(s.serverRssMiB),
        note: `idle ${f(s.serverRssIdleMiB)} MiB; +${f(s.serverRssKiBPerLead)} KiB per lead; ${f(s.serverIdleCpuPercent, 2)}% CPU while all wait`,
      },
      {
        section: 'scale',
        metric: 'worker RSS (MiB)',
        value: f(s.workerRssMiB),
        note: `idle ${f(s.workerRssIdleMiB)} MiB; +${f(s.workerRssKiBPerLead)} KiB per lead; ${f(s.workerIdleCpuPercent, 2)}% CPU while all wait`,
      },
      ...(s.workerHeap && s.workflowHeapKiBPerCachedLead !== undefined
        ? [
            {
              section: 'scale',
              metric: 'workflow heap per cached lead (KiB)',
              value: f(s.workflowHeapKiBPerCachedLead),
              note: `${s.workerHeap.cachedWorkflows} cached (cache ${s.workerMaxCachedWorkflows}); workflow thread ${f(s.workerHeap.workflowHeapBytes / 2 ** 20)} MiB, idle ${f((s.workerHeapIdle?.workflowHeapBytes ?? Number.NaN) / 2 ** 20)} MiB, after a GC`,
            },
          ]
        : []),
      {
        section: 'scale',
        metric: "count LeadStage = 'lead' (ms)",
        value: f(s.countStageMs),
        note: `counted ${s.countedInStage}; visibility caught up ${f(s.visibilityCatchUpS, 2)} s after the last start`,
      },
      { section: 'scale', metric: 'list first 100 of the stage (ms)', value: f(s.listFirst100Ms) },
      {
        section: 'scale',
        metric: 'list the whole stage (ms)',
        value: f(s.listAllMs),
        note: `${s.listedAll} leads`,
      },
    );
  }
  // The import's rate, from the import phase or from a scale phase filled by import.
  for (const im of [r.import, s?.import]) {
    if (!im) continue;
    out.push({
      section: 'import',
      metric: `HubSpot-style CSV import (leads/s${im.consent ? ', rows with consent' : ''})`,
      value: f(im.leadsPerSecond),
      note: `${im.imported} of ${im.rows} rows imported${im.interrupted ? ' (stopped by the time budget)' : ''}, ${im.rejected} rejected, in ${f(im.seconds)} s; concurrency ${im.concurrency}${im === s?.import ? '; the scale phase' : ''}`,
    });
  }
  if (st) {
    for (const k of st.summary) {
      const name = k.kind === 'lead' ? 'lead workflow' : `variant ${k.kind}`;
      const rounds = st.measurements.filter((x) => x.kind === k.kind);
      const first = rounds[0];
      out.push({
        section: 'starts',
        metric: `${name}: new leads/s (capture through its first minute)`,
        value: f(k.startsPerSecond),
        note: `${k.historyEvents} history events, ${k.workflowTasks} workflow tasks per lead (exact, every lead); ${first ? `${first.leads} leads at concurrency ${first.concurrency}, ` : ''}median of ${rounds.length} rounds${k.kind === 'lead' ? '' : `; lead workflow ${f(k.leadOverThis, 2)}× this`}`,
      });
    }
  }
  return out;
}

/** The report on stdout: the machine, the table, the profiles, and the table again as Markdown if asked. */
export function printReport(env: Environment, results: BenchResults, table: Row[], markdown: boolean): void {
  console.log(`\nleadcycle benchmark — ${env.date}`);
  console.log(
    `${env.cpuModel}; ${env.cores} cores; ${env.memoryGiB} GiB; ${env.os}; Node ${env.node}; ` +
      `${env.temporalCli}; SDK ${env.temporalSdk}; xstate ${env.xstate}\n`,
  );
  console.log(formatTable(table));
  for (const p of results.engine?.profiles ?? []) {
    console.log(`\nworker CPU profile ${p.file} (${p.totalMs.toFixed(0)} ms busy): by origin`);
    for (const o of p.byOrigin.slice(0, 12))
      console.log(`  ${o.percent.toFixed(1).padStart(5)}%  ${o.origin}`);
    console.log('top functions by self time');
    for (const fn of p.topFunctions) console.log(`  ${fn.percent.toFixed(1).padStart(5)}%  ${fn.fn}`);
  }
  if (markdown) console.log(`\n${formatMarkdown(table)}`);
}
