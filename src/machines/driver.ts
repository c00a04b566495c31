import { LeadcycleError } from '../errors.js';
import type { LeadInput } from './context.js';
import type { LeadCycle } from './cycle.js';
import type { Deadline, DeadlineOptions } from './deadlines.js';
import type { LeadSnapshot, LeadState, Rejection } from './decide.js';
import type { Effect } from './effects.js';
import type { LeadEvent } from './events.js';

/**
 * The lead's driver: the one loop that every host runs. The workflow hosts it with real time and
 * durable timers, the backtest with recorded journals, the simulator on the time-skipping server; a
 * host adds time and I/O, never a rule. Given a snapshot, it applies an event, queues the effects to
 * carry out and the journal entries to write, and feeds every deadline due by a time.
 */

/** An effect waiting to be carried out. */
export interface PendingEffect {
  /** Idempotency key: the lead's id and the effect's sequence number, stable across retries and runs. */
  key: string;
  effect: Effect;
}

/** An event the lead accepted from outside, waiting to be journaled (what backtests replay). */
export interface JournalItem {
  seq: number;
  event: LeadEvent;
}

/** What a driver hands to its next run (the workflow's continue-as-new). */
export interface DriverCarry {
  state: LeadState;
  pending: PendingEffect[];
  effectSeq: number;
  journal?: JournalItem[];
  journalSeq?: number;
  /** The time of the last event applied (absent in runs carried before the driver). */
  clock?: number;
}

export interface DriverOptions {
  /** Prefix of every effect's idempotency key: the workflow id (the lead id in a backtest). */
  id: string;
  /** Keep accepted outside events for the journal. */
  journal?: boolean;
  deadlines?: DeadlineOptions;
  /**
   * Feed deadlines at their own instants: a timer event is stamped with its deadline (never before the
   * last event applied), and the deadlines due before an outside event are fed before it. Off only for
   * workflow runs recorded before it, which stamped timer events with the host's clock and applied a
   * message before the deadlines that had passed without their timer having fired yet.
   */
  atDeadlines?: boolean;
  /** Sees every effect as it is queued (the workflow counts them for its metrics). */
  onEffects?: (effects: readonly Effect[]) => void;
  /** Sees a deadline the machine refused (a bug in the deadline functions, logged by the workflow). */
  onRefusedDeadline?: (rejection: Rejection) => void;
}

/** A deadline that feeds this many timer events in a row does not advance: a bug, not a lead. */
const MAX_TIMERS_IN_A_ROW = 100_000;

export class DriverError extends LeadcycleError<'deadlines_do_not_advance'> {}

export class LeadDriver {
  readonly pending: PendingEffect[];
  readonly journal: JournalItem[];
  /** Timer events fed so far (hosts compare it to see whether a step fed any). */
  timersFed = 0;
  #snapshot: LeadSnapshot;
  #effectSeq: number;
  #journalSeq: number;
  #clock: number;
  /** The deadline last refused, by `event@at`: not fed again until the snapshot gives another. */
  #refused: string | null = null;
  #cycle: LeadCycle;
  /**
   * The last accepted `check`: its probe, the snapshot and refused deadline it started from, and the
   * event as JSON. An `offer` of the same event from that same point takes the probe's outcome
   * instead of deciding it again (the workflow's update handler after its validator: the machine is
   * pure, so it is the same decision); anything else decides afresh.
   */
  #checked: { from: LeadSnapshot; refused: string | null; event: string; probe: LeadDriver } | null = null;

  private constructor(
    cycle: LeadCycle,
    readonly options: DriverOptions,
    snapshot: LeadSnapshot,
    carry: Omit<DriverCarry, 'state'>,
  ) {
    this.#cycle = cycle;
    this.#snapshot = snapshot;
    this.pending = [...carry.pending];
    this.#effectSeq = carry.effectSeq;
    this.journal = [...(carry.journal ?? [])];
    this.#journalSeq = carry.journalSeq ?? 0;
    this.#clock = carry.clock ?? snapshot.context.createdAt;
  }

  /** A new lead: the machine's initial effects are queued. */
  static start(cycle: LeadCycle, lead: LeadInput, options: DriverOptions): LeadDriver {
    const { snapshot, effects } = cycle.start(lead);
    const driver = new LeadDriver(cycle, options, snapshot, { pending: [], effectSeq: 0 });
    driver.#enqueue(effects);
    return driver;
  }

  /** A lead carried over from an earlier run. */
  static resume(cycle: LeadCycle, carry: DriverCarry, options: DriverOptions): LeadDriver {
    return new LeadDriver(cycle, options, cycle.restore(carry.state), carry);
  }

  /** The machine and config the lead runs under (`reconfigure` replaces it). */
  get cycle(): LeadCycle {
    return this.#cycle;
  }

  /**
   * Carries on under another config: the lead (state, pending effects, journal, sequence numbers)
   * stays, the deadlines due by `at` are fed under the old config first, then a `config.changed`
   * event lets the new one look at the lead (a lowered threshold qualifies it now). Not journaled:
   * a backtest replays the journal under one config of its own.
   */
  reconfigure(cycle: LeadCycle, version: number, at: number): Rejection | null {
    if (this.options.atDeadlines) this.feedDue(at);
    const state = this.state;
    this.#cycle = cycle;
    this.#snapshot = cycle.restore(state);
    // A deadline refused under the old config may be fine under the new one.
    this.#refused = null;
    const stamped = this.options.atDeadlines ? Math.max(at, this.#clock) : at;
    const decision = cycle.apply(this.#snapshot, { type: 'config.changed', version, at: stamped });
    if (!decision.ok) return decision.rejection;
    this.#commit(decision.snapshot, decision.effects, stamped);
    return null;
  }

  /** Changes whenever the lead does (hosts compare it to wake up). */
  get snapshot(): LeadSnapshot {
    return this.#snapshot;
  }

  get state(): LeadState {
    return this.cycle.stateOf(this.#snapshot);
  }

  carry(): DriverCarry {
    return {
      state: this.state,
      pending: [...this.pending],
      effectSeq: this.#effectSeq,
      journal: [...this.journal],
      journalSeq: this.#journalSeq,
      // Runs that stamp timers with the host's clock never read it: their carry stays as it was.
      ...(this.options.atDeadlines ? { clock: this.#clock } : {}),
    };
  }

  nextDeadline(): Deadline | null {
    return this.cycle.nextDeadline(this.state, this.options.deadlines);
  }

  /** Whether the deadline that is next was refused and waits for the snapshot to change. */
  get nextDeadlineRefused(): boolean {
    const next = this.nextDeadline();
    return next !== null && idOf(next) === this.#refused;
  }

  /** What `offer(event)` would answer, changing nothing (the workflow's update validator asks it). */
  check(event: LeadEvent): Rejection | null {
    const { onEffects: _, onRefusedDeadline: __, ...quiet } = this.options;
    const probe = new LeadDriver(this.cycle, quiet, this.#snapshot, {
      pending: [],
      effectSeq: 0,
      clock: this.#clock,
    });
    probe.#refused = this.#refused;
    const rejection = probe.offer(event);
    // A deadline the probe refused is logged by the real feed: that offer decides afresh.
    const reusable = rejection === null && probe.#refused === this.#refused;
    this.#checked = reusable
      ? { from: this.#snapshot, refused: this.#refused, event: JSON.stringify(event), probe }
      : null;
    return rejection;
  }

  /**
   * Applies an event from outside, after the deadlines due before it (with `atDeadlines`). A refused
   * event changes nothing but those deadlines, which were due anyway.
   */
  offer(event: LeadEvent): Rejection | null {
    const checked = this.#checked;
    this.#checked = null;
    if (
      checked?.from === this.#snapshot &&
      checked.refused === this.#refused &&
      checked.event === JSON.stringify(event)
    ) {
      this.#adopt(checked.probe);
      return null;
    }
    if (this.options.atDeadlines) this.feedDue(event.at);
    const decision = this.cycle.apply(this.#snapshot, event);
    if (!decision.ok) return decision.rejection;
    this.#commit(decision.snapshot, decision.effects, event.at);
    if (this.options.journal) this.journal.push({ seq: ++this.#journalSeq, event });
    return null;
  }

  /** Feeds every deadline due by `now`, soonest first; a refused one stops the feed. Answers how many it fed. */
  feedDue(now: number): number {
    for (let fed = 0; ; fed++) {
      if (fed >= MAX_TIMERS_IN_A_ROW) {
        throw new DriverError(
          'deadlines_do_not_advance',
          `lead ${this.options.id}: ${fed} deadlines in a row, they do not advance`,
        );
      }
      const next = this.nextDeadline();
      if (!next || next.at > now || idOf(next) === this.#refused) return fed;
      const at = this.options.atDeadlines ? Math.max(next.at, this.#clock) : now;
      const decision = this.cycle.apply(this.#snapshot, { type: next.event, at });
      if (!decision.ok) {
        this.#refused = idOf(next);
        this.options.onRefusedDeadline?.(decision.rejection);
        return fed;
      }
      this.#commit(decision.snapshot, decision.effects, at);
      this.timersFed++;
    }
  }

  /** Removes the effect at the head of the queue once its host has carried it out. */
  effectDone(effect: PendingEffect): void {
    if (this.pending[0] === effect) this.pending.shift();
  }

  /** Removes the first `count` journal entries once they are written. */
  journalWritten(count: number): void {
    this.journal.splice(0, count);
  }

  /** Takes a probe's accepted offer as this driver's: its snapshot, clock, timers, effects and journal. */
  #adopt(probe: LeadDriver) {
    this.timersFed += probe.timersFed;
    this.#commit(
      probe.#snapshot,
      probe.pending.map((p) => p.effect),
      probe.#clock,
    );
    for (const { event } of probe.journal) this.journal.push({ seq: ++this.#journalSeq, event });
  }

  #commit(snapshot: LeadSnapshot, effects: Effect[], at: number) {
    this.#snapshot = snapshot;
    this.#clock = Math.max(this.#clock, at);
    this.#enqueue(effects);
  }

  #enqueue(effects: readonly Effect[]) {
    this.options.onEffects?.(effects);
    for (const effect of effects)
      this.pending.push({ key: `${this.options.id}/${++this.#effectSeq}`, effect });
  }
}

const idOf = (deadline: Deadline) => `${deadline.event}@${deadline.at}`;
