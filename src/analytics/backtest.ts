/**
 * What-if backtesting: replay the journaled events of past leads through the machine under another
 * config (another MQL threshold, points table, persona…) and compare the funnel with the one that
 * happened, before anyone changes production config.
 *
 * A replay does what the lead workflow does, without Temporal: it starts the machine when the lead's
 * workflow started, and before each journaled event it feeds every deadline that has passed (derived
 * from the snapshot under *the replayed config*, so another cadence or SLA moves the timers too).
 * Events the replayed lead refuses (e.g. `sales.accepted` for a lead that is no MQL under the new
 * threshold) are counted and skipped: sales' actions are replayed as they happened, not re-imagined.
 */
import {
  createLeadCycle,
  type Effect,
  type LeadCycle,
  type LeadcycleConfig,
  type LeadcycleConfigInput,
  type LeadEvent,
  type LeadSnapshot,
  STAGES,
  type Stage,
} from '../machines/index.js';
import type { JournaledLead, StageChangeRow } from './records.js';
import { type FunnelStage, type FunnelStep, funnelFromCounts, reachedStages, stageAt } from './reports.js';

/** A replay that feeds this many timer events in a row has a deadline that does not advance: a bug. */
const MAX_TIMERS_IN_A_ROW = 100_000;

export class BacktestError extends Error {
  constructor(
    readonly code: 'TIMER_LOOP' | 'NO_LEADS',
    message: string,
  ) {
    super(message);
    this.name = 'BacktestError';
  }
}

/**
 * One lead driven the way its workflow drives it: each event is preceded by the deadlines that
 * passed before it, each fed at its own instant.
 */
export class LeadReplay {
  readonly changes: StageChangeRow[] = [];
  refused = 0;
  timers = 0;
  #snapshot: LeadSnapshot;
  #seq = 0;

  constructor(
    readonly cycle: LeadCycle,
    readonly lead: JournaledLead,
  ) {
    const started = cycle.start({ leadKey: lead.leadId, at: lead.createdAt });
    this.#snapshot = started.snapshot;
    this.#collect(started.effects);
  }

  get stage(): Stage {
    return this.cycle.stateOf(this.#snapshot).value.lifecycle;
  }

  /** Feeds the deadlines due by `t`, as the workflow's timers would. */
  advanceTo(t: number): void {
    for (let n = 0; ; n++) {
      if (n > MAX_TIMERS_IN_A_ROW) {
        throw new BacktestError('TIMER_LOOP', `lead ${this.lead.leadId}: deadlines do not advance`);
      }
      const next = this.cycle.nextDeadline(this.cycle.stateOf(this.#snapshot));
      if (!next || next.at > t) return;
      // The workflow stops feeding a refused deadline until a message changes the snapshot.
      if (!this.#apply({ type: next.event, at: next.at })) return;
      this.timers++;
    }
  }

  /** Feeds one event from outside; false (and counted) when the machine refuses it. */
  offer(event: LeadEvent): boolean {
    this.advanceTo(event.at);
    if (this.#apply(event)) return true;
    this.refused++;
    return false;
  }

  #apply(event: LeadEvent): boolean {
    const decision = this.cycle.apply(this.#snapshot, event);
    if (!decision.ok) return false;
    this.#snapshot = decision.snapshot;
    this.#collect(decision.effects);
    return true;
  }

  #collect(effects: Effect[]) {
    for (const effect of effects) {
      this.#seq++;
      if (effect.type !== 'stage.changed') continue;
      this.changes.push({
        key: `${this.lead.leadId}/${this.#seq}`,
        leadId: this.lead.leadId,
        seq: this.#seq,
        from: effect.from,
        to: effect.to,
        at: effect.at,
        cause: effect.cause,
        reason: effect.reason,
        amount: effect.amount ?? null,
      });
    }
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

  constructor(
    readonly label: string,
    readonly until: number,
  ) {}

  add(changes: StageChangeRow[], refused = 0) {
    this.#refused += refused;
    for (const stage of reachedStages(changes, this.until)) {
      this.#reached.set(stage, (this.#reached.get(stage) ?? 0) + 1);
    }
    const now = stageAt(changes, this.until);
    if (now !== null) this.#stages[now]++;
  }

  series(): BacktestSeries {
    return {
      label: this.label,
      funnel: funnelFromCounts(this.#reached),
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
  }
  if (leads === 0) throw new BacktestError('NO_LEADS', 'the journal holds no leads to replay');
  return {
    leads,
    until,
    series: [...(recorded ? [actual.series()] : []), ...tallies.map((t) => t.series())],
  };
}
