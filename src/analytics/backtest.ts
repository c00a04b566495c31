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
  ) {
    this.#driver = LeadDriver.start(
      cycle,
      { leadKey: lead.leadId, at: lead.createdAt },
      {
        id: lead.leadId,
        atDeadlines: true,
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

/** Replays one lead's journal up to `until` (epoch ms). */
export function replayLead(
  cycle: LeadCycle,
  lead: JournaledLead,
  events: readonly LeadEvent[],
  until: number,
): LeadReplay {
  const replay = new LeadReplay(cycle, lead);
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

/** Funnel and stage counts, one lead at a time, so 100,000 replayed leads need not stay in memory. */
class Tally {
  readonly #reached = new Map<FunnelStage, number>();
  readonly #stages = Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;
  #refused = 0;
  #visitorsFirst = 0;

  constructor(
    readonly label: string,
    readonly until: number,
  ) {}

  add(changes: StageChangeRow[], refused = 0) {
    this.#refused += refused;
    for (const stage of reachedStages(changes, this.until)) {
      this.#reached.set(stage, (this.#reached.get(stage) ?? 0) + 1);
    }
    if (wasVisitorFirst(changes, this.until)) this.#visitorsFirst++;
    const now = stageAt(changes, this.until);
    if (now !== null) this.#stages[now]++;
  }

  series(): BacktestSeries {
    return {
      label: this.label,
      funnel: funnelFromCounts(this.#reached, this.#visitorsFirst),
      stages: { ...this.#stages },
      refusedEvents: this.#refused,
    };
  }
}

/**
 * Replays every journaled lead under each scenario. With `recorded` (the stage changes that really
 * happened, by lead) the report starts with the "actual" series of the same leads.
 */
export async function backtest(
  journal: AsyncIterable<{ lead: JournaledLead; events: LeadEvent[] }>,
  scenarios: BacktestScenario[],
  options: {
    until: number;
    recorded?: ReadonlyMap<string, StageChangeRow[]>;
    /** Sees every replayed lead (benchmarks count its timers). */
    onReplay?: (replay: LeadReplay, scenario: BacktestScenario) => void;
    /** Sees the count of leads replayed so far, after each one (the CLI's progress bar). */
    onProgress?: (leads: number) => void;
  },
): Promise<BacktestReport> {
  const { until, recorded } = options;
  const cycles = scenarios.map((s) => createLeadCycle(s.config));
  const actual = new Tally('actual', until);
  const tallies = scenarios.map((s) => new Tally(s.label, until));
  let leads = 0;
  for await (const { lead, events } of journal) {
    leads++;
    actual.add(recorded?.get(lead.leadId) ?? []);
    cycles.forEach((cycle, i) => {
      const result = replayLead(cycle, lead, events, until);
      tallies[i]?.add(result.changes, result.refused);
      options.onReplay?.(result, scenarios[i] as BacktestScenario);
    });
    options.onProgress?.(leads);
  }
  if (leads === 0) throw new BacktestError('no_leads', 'the journal holds no leads to replay');
  return {
    leads,
    until,
    series: [...(recorded ? [actual.series()] : []), ...tallies.map((t) => t.series())],
  };
}
