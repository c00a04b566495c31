/**
 * What-if backtesting: replay the journaled events of past leads through the machine under another
 * config (another MQL threshold, points table, persona…) and compare the funnel with the one that
 * happened, before anyone changes production config.
 *
 * A replay runs the lead workflow's own driver (src/machines/driver.ts) without Temporal: it starts
 * the lead when its workflow started, and before each journaled event the driver feeds every deadline
 * that has passed (derived from the snapshot under *the replayed config*, so another cadence or SLA
 * moves the timers too), each stamped with its own instant, as the workflow does.
 * Events the replayed lead refuses (e.g. `sales.accepted` for a lead that is no MQL under the new
 * threshold) are counted and skipped: sales' actions are replayed as they happened, not re-imagined.
 */
import { LeadcycleError } from '../errors.js';
import {
  createLeadCycle,
  type LeadCycle,
  type LeadcycleConfig,
  type LeadcycleConfigInput,
  LeadDriver,
  type LeadEvent,
  STAGES,
  type Stage,
  stagelessTimers,
} from '../machines/index.js';
import type { JournaledLead, StageChangeRow } from './records.js';
import {
  type FunnelStage,
  type FunnelStep,
  funnelFromCounts,
  reachedStages,
  stageAt,
  wasVisitorFirst,
} from './reports.js';

export class BacktestError extends LeadcycleError<'no_leads'> {}

/**
 * One lead driven by the same lead driver its workflow runs (src/machines/driver.ts): each event is
 * preceded by the deadlines that passed before it, each fed at its own instant.
 */
export class LeadReplay {
  readonly changes: StageChangeRow[] = [];
  refused = 0;
  readonly #driver: LeadDriver;

  constructor(
    readonly cycle: LeadCycle,
    readonly lead: JournaledLead,
    /**
     * Only what decides stages: the timers that never change one (`stagelessTimers`) are not fed, so
     * no marketing email is queued and effects are numbered without them (rows' `key` and `seq`
     * differ from the workflow's; stages, times, causes and reasons do not).
     */
    readonly stagesOnly = false,
  ) {
    this.#driver = LeadDriver.start(
      cycle,
      { leadKey: lead.leadId, at: lead.createdAt },
      {
        id: lead.leadId,
        atDeadlines: true,
        ...(stagesOnly ? { deadlines: { omit: stagelessTimers(cycle.config) } } : {}),
      },
    );
    this.#collect();
  }

  get stage(): Stage {
    return this.#driver.state.value.lifecycle;
  }

  /** Timer events fed so far. */
  get timers(): number {
    return this.#driver.timersFed;
  }

  /** Feeds the deadlines due by `t`, as the workflow's timers would. */
  advanceTo(t: number): void {
    this.#driver.feedDue(t);
    this.#collect();
  }

  /** Feeds one event from outside; false (and counted) when the machine refuses it. */
  offer(event: LeadEvent): boolean {
    const rejection = this.#driver.offer(event);
    this.#collect();
    if (rejection) this.refused++;
    return rejection === null;
  }

  /** Only stage changes matter to a backtest: the other effects are dropped as they come. */
  #collect() {
    const { pending } = this.#driver;
    for (const { key, effect } of pending) {
      if (effect.type !== 'stage.changed') continue;
      this.changes.push({
        key,
        leadId: this.lead.leadId,
        seq: Number(key.slice(key.lastIndexOf('/') + 1)),
        from: effect.from,
        to: effect.to,
        at: effect.at,
        cause: effect.cause,
        reason: effect.reason,
        amount: effect.amount ?? null,
        // No owner (nor touches): the journal's owner is 'redacted', so a replay cannot name the real
        // one, and the backtest compares funnels, which read neither. Left out rather than 'redacted',
        // so replayed rows never pass for recorded ones in the SLA per owner.
      });
    }
    pending.length = 0;
  }
}

/** Replays one lead's journal up to `until` (epoch ms); `stagesOnly` as LeadReplay's. */
export function replayLead(
  cycle: LeadCycle,
  lead: JournaledLead,
  events: readonly LeadEvent[],
  until: number,
  stagesOnly = false,
): LeadReplay {
  const replay = new LeadReplay(cycle, lead, stagesOnly);
  for (const event of events) {
    if (event.at > until) break;
    replay.offer(event);
  }
  replay.advanceTo(until);
  return replay;
}

export interface BacktestSeries {
  label: string;
  funnel: FunnelStep[];
  /** Leads per stage at `until`. */
  stages: Record<Stage, number>;
  /** Journaled events refused in the replay (none in the recorded series). */
  refusedEvents: number;
}

export interface BacktestReport {
  leads: number;
  until: number;
  /** What happened (recorded stage changes of the journaled leads), then each replayed config. */
  series: BacktestSeries[];
}

export interface BacktestScenario {
  label: string;
  config: LeadcycleConfigInput | LeadcycleConfig;
}

/** What replayed leads add to a series: plain counts, so each thread can count its share and post it. */
export interface TallyCounts {
  reached: Array<[FunnelStage, number]>;
  visitorsFirst: number;
  stages: Record<Stage, number>;
  refused: number;
  /** Timer events the replays fed (benchmarks report them). */
  timers: number;
}

/** Funnel and stage counts, one lead at a time, so 100,000 replayed leads need not stay in memory. */
class Tally {
  readonly #reached = new Map<FunnelStage, number>();
  readonly #stages = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
  #refused = 0;
  #visitorsFirst = 0;
  #timers = 0;

  constructor(readonly until: number) {}

  add(changes: StageChangeRow[], refused = 0, timers = 0) {
    this.#refused += refused;
    this.#timers += timers;
    for (const stage of reachedStages(changes, this.until)) {
      this.#reached.set(stage, (this.#reached.get(stage) ?? 0) + 1);
    }
    if (wasVisitorFirst(changes, this.until)) this.#visitorsFirst++;
    const now = stageAt(changes, this.until);
    if (now !== null) this.#stages[now]++;
  }

  addCounts(counts: TallyCounts) {
    for (const [stage, n] of counts.reached) this.#reached.set(stage, (this.#reached.get(stage) ?? 0) + n);
    for (const stage of STAGES) this.#stages[stage] += counts.stages[stage];
    this.#refused += counts.refused;
    this.#visitorsFirst += counts.visitorsFirst;
    this.#timers += counts.timers;
  }

  counts(): TallyCounts {
    return {
      reached: [...this.#reached],
      visitorsFirst: this.#visitorsFirst,
      stages: { ...this.#stages },
      refused: this.#refused,
      timers: this.#timers,
    };
  }

  series(label: string): BacktestSeries {
    return {
      label,
      funnel: funnelFromCounts(this.#reached, this.#visitorsFirst),
      stages: { ...this.#stages },
      refusedEvents: this.#refused,
    };
  }
}

export interface JournaledLeadEvents {
  lead: JournaledLead;
  events: LeadEvent[];
}

/** Replays a batch of leads under each cycle: one tally's counts per cycle, in their order. */
export function replayBatch(
  cycles: readonly LeadCycle[],
  leads: readonly JournaledLeadEvents[],
  until: number,
): TallyCounts[] {
  return cycles.map((cycle) => {
    const tally = new Tally(until);
    for (const { lead, events } of leads) {
      // A backtest counts stages: the timers that change none are not fed.
      const result = replayLead(cycle, lead, events, until, true);
      tally.add(result.changes, result.refused, result.timers);
    }
    return tally.counts();
  });
}

/** Replays batches of leads somewhere (in this thread, or spread over threads: replay-pool.ts). */
export interface BatchReplayer {
  /** Leads per batch it takes. */
  readonly batchSize: number;
  /** Resolves once the batch may be followed by another (the replayer has room); `done` gets its counts. */
  submit(leads: JournaledLeadEvents[], done: (counts: TallyCounts[]) => void): Promise<void>;
  /** Resolves when every submitted batch is done. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Replays every journaled lead under each scenario. With `recorded` (the stage changes that really
 * happened, by lead) the report starts with the "actual" series of the same leads. `replayer`
 * spreads the batches over threads (`ReplayPool`); without one, they replay in this thread.
 */
export async function backtest(
  journal: AsyncIterable<JournaledLeadEvents>,
  scenarios: BacktestScenario[],
  options: {
    until: number;
    recorded?: ReadonlyMap<string, StageChangeRow[]>;
    /** Where the batches replay: a pool of threads; absent, this thread, as they are read. */
    replayer?: (cycles: BacktestScenario[], until: number) => BatchReplayer;
    /** Sees the count of leads replayed so far, after each batch (the CLI's progress bar). */
    onProgress?: (leads: number) => void;
    /** Sees the timer events each scenario's replays fed, at the end (benchmarks report them). */
    onTimers?: (timers: number[]) => void;
  },
): Promise<BacktestReport> {
  const { until, recorded } = options;
  const actual = new Tally(until);
  const tallies = scenarios.map(() => new Tally(until));
  const replayer = options.replayer?.(scenarios, until) ?? inThisThread(scenarios, until);
  let leads = 0;
  let replayed = 0;
  const done = (size: number) => (counts: TallyCounts[]) => {
    counts.forEach((c, i) => {
      tallies[i]?.addCounts(c);
    });
    replayed += size;
    options.onProgress?.(replayed);
  };
  try {
    let batch: JournaledLeadEvents[] = [];
    for await (const entry of journal) {
      leads++;
      actual.add(recorded?.get(entry.lead.leadId) ?? []);
      batch.push(entry);
      if (batch.length === replayer.batchSize) {
        await replayer.submit(batch, done(batch.length));
        batch = [];
      }
    }
    if (batch.length > 0) await replayer.submit(batch, done(batch.length));
    await replayer.drain();
  } finally {
    await replayer.close();
  }
  if (leads === 0) throw new BacktestError('no_leads', 'the journal holds no leads to replay');
  options.onTimers?.(tallies.map((t) => t.counts().timers));
  return {
    leads,
    until,
    series: [
      ...(recorded ? [actual.series('actual')] : []),
      ...tallies.map((t, i) => t.series((scenarios[i] as BacktestScenario).label)),
    ],
  };
}

/** Batches replayed as they come, in this thread. */
function inThisThread(scenarios: BacktestScenario[], until: number): BatchReplayer {
  const cycles = scenarios.map((s) => createLeadCycle(s.config));
  return {
    // Each lead as it is read: progress counts every lead.
    batchSize: 1,
    async submit(leads, done) {
      done(replayBatch(cycles, leads, until));
    },
    async drain() {},
    async close() {},
  };
}
