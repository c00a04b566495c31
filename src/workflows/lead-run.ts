import {
  ApplicationFailure,
  condition,
  currentUpdateInfo,
  log,
  patched,
  workflowInfo,
} from '@temporalio/workflow';
import type { z } from 'zod';
import { timerSummary } from '../codec/operator-text.js';
import { describeIssues, issuesOf } from '../errors.js';
import {
  DAY_MS,
  type Deadline,
  type JournalItem,
  keyAddressOf,
  LeadcycleConfigSchema,
  LeadDriver,
  type LeadEvent,
  type LeadFact,
  LeadFactSchema,
  type LeadRules,
  type LeadSnapshot,
  type LeadView,
  type PendingEffect,
  type Rejection,
  sharedLeadCycle,
} from '../machines/index.js';
import { Alarm } from './alarm.js';
import { carryOut, isStoreWrite, recordLocally, writeJournal } from './effects.js';
import {
  CHEAP_STARTS,
  ConfigRolloutSchema,
  FAILURE,
  type LeadWorkflowInput,
  QUIET_MESSAGES,
  WIDE_LABELS,
} from './messages.js';
import { countDeferral, countEffects, countRejection } from './metrics.js';
import { OperatorView } from './operator-view.js';

/**
 * Continue-as-new well before Temporal's limits: history warns at 10,240 events and a run accepts
 * at most 2,000 updates. A lead that lives for years starts a fresh run every few thousand events.
 */
export const CONTINUE_AS_NEW_AT = { historyLength: 4_000, updates: 1_000 };

/**
 * The journal (what backtests replay) is written in batches, not per message: with a stage change,
 * when this many events wait, or when a timer wakes a lead whose oldest waiting event is older than
 * JOURNAL_MAX_AGE_DAYS. A message then costs no activity of its own, and an engaged lead about one
 * batch a month.
 */
export const JOURNAL_BATCH = 100;
export const JOURNAL_MAX_AGE_DAYS = 30;

/** How many applied update ids continue-as-new carries: a run applies at most CONTINUE_AS_NEW_AT.updates. */
export const CARRIED_UPDATE_IDS = 1_000;

/**
 * One run of a lead's workflow: the shared lead driver (src/machines/driver.ts) hosted with
 * Temporal's time, durable timer and activities. The workflow function wires messages to it.
 */
export class LeadRun {
  readonly driver: LeadDriver;
  readonly #workflowId = workflowInfo().workflowId;
  readonly #operators: OperatorView;
  readonly #alarm = new Alarm();
  readonly #fewerEventsPerMessage: boolean;
  /** Behind CHEAP_STARTS: every older patch on, and store writes as local activities. */
  readonly #cheapStarts: boolean;
  /** Behind QUIET_MESSAGES: a command or fact that leaves the loop nothing to do is settled in its handler. */
  readonly #quietMessages: boolean;
  /** The snapshot the loop last saw or a handler settled: the loop sleeps while the lead is still at it. */
  #settled: LeadSnapshot | null = null;
  readonly #limits: typeof CONTINUE_AS_NEW_AT;
  readonly #rules: LeadRules;
  #updatesThisRun = 0;
  #stageChanged = false;
  #timersPublished = 0;
  #lastDeferral: string | null = null;
  /** Update ids applied by earlier runs (carried), then by this one, oldest first. */
  readonly #updateIds: string[];
  readonly #carriedUpdateIds: ReadonlySet<string>;
  /** The config version the lead runs, and that config (what the next run starts from). */
  #configVersion: number | null;
  #config: LeadWorkflowInput['config'];
  /** The last view built, with the snapshot and config version it shows. */
  #view: { snapshot: LeadSnapshot; version: number | null; view: LeadView } | null = null;

  constructor(readonly input: LeadWorkflowInput) {
    // Each patch keeps runs recorded before it replaying the way they were written (test/histories/).
    // Runs that began with the umbrella patch take no other patch; runs recorded before it ask each
    // patch as they did, in the same order.
    const declared = declaredRules(input);
    this.#cheapStarts = declared.cheapStarts;
    this.#quietMessages = declared.quietMessages;
    const since = (patch: string) => this.#cheapStarts || patched(patch);
    // Fewer history events per message: the deadline timer kept, decay ticks on a grid, the score
    // published less often.
    this.#fewerEventsPerMessage = since('fewer-events-per-message');
    // The events a lead accepts from outside are journaled for backtests (src/analytics/).
    const journal = since('lead-event-journal');
    // Timer events at their deadlines, and the deadlines due before a message fed before it: what the
    // backtest and the simulator run, to the millisecond.
    const atDeadlines = since('lead-driver-at-deadlines');
    // Do-not-contact means no contact (no handoff, escalation or acceptance), and every consent
    // change is recorded with its source: the proof of consent.
    // Marketing rules from the config: profiles that disqualify or never qualify, page rules for visits.
    // Time ages leads: BANT timelines count down, silence cools, an untouched SQL turns stale
    // (new deadlines: tick.cool, tick.stale).
    // The newsletter is a subscription every consenting subscriber gets inside the cap, and the fallback
    // of a lead whose content ran out (machine and deadlines).
    this.#rules = {
      doNotContact: since('do-not-contact'),
      marketingRules: since('marketing-rules'),
      timeAges: since('time-ages-leads'),
      // Sales decides: hand-raisers go to sales, sales may accept before MQL, lost can come back.
      salesDecides: since('sales-decides'),
      newsletterSubscription: since('newsletter-subscription'),
    };
    const cycle = sharedLeadCycle(input.config ?? {}, this.#rules);
    const options = {
      id: this.#workflowId,
      journal,
      atDeadlines,
      deadlines: { decayGrid: this.#fewerEventsPerMessage, timeAges: this.#rules.timeAges },
      onEffects: countEffects,
      onRefusedDeadline: (rejection: Rejection) =>
        log.error('timer refused by the machine', { reason: rejection.message }),
    };
    this.driver = input.carried
      ? LeadDriver.resume(cycle, input.carried, options)
      : LeadDriver.start(cycle, { leadKey: input.leadKey, at: Date.now() }, options);
    this.#operators = new OperatorView(input.searchAttributes !== false, this.#fewerEventsPerMessage);
    this.#limits = { ...CONTINUE_AS_NEW_AT, ...input.continueAsNewAt };
    this.#updateIds = [...(input.updateIds ?? [])];
    this.#carriedUpdateIds = new Set(this.#updateIds);
    this.#configVersion = input.configVersion ?? null;
    this.#config = input.config;
  }

  view(): LeadView {
    // An update's result and the publish after it read the same lead: built once per snapshot.
    const { snapshot } = this.driver;
    const cached = this.#view;
    if (cached?.snapshot === snapshot && cached.version === this.#configVersion) return cached.view;
    const view = this.driver.cycle.view(this.driver.state);
    // Absent for a lead that never ran a stored version: the views runs recorded before it answered.
    const answer = this.#configVersion === null ? view : { ...view, configVersion: this.#configVersion };
    this.#view = { snapshot, version: this.#configVersion, view: answer };
    return answer;
  }

  /**
   * The `config` update's validator: the config must be a valid config (refused with its field
   * issues), and no older than the one the lead runs.
   */
  validateConfig(rollout: unknown): void {
    const parsed = ConfigRolloutSchema.safeParse(rollout);
    const config = parsed.success ? LeadcycleConfigSchema.safeParse(parsed.data.config) : null;
    if (!parsed.success || !config?.success) {
      const issues = parsed.success
        ? issuesOf(config?.error as z.ZodError).map((i) => ({ ...i, path: ['config', ...i.path] }))
        : issuesOf(parsed.error);
      throw ApplicationFailure.create({
        type: FAILURE.invalidCommand,
        message: describeIssues(issues, '(config)'),
        details: [issues],
        nonRetryable: true,
      });
    }
    if (this.#configVersion !== null && parsed.data.version < this.#configVersion) {
      throw ApplicationFailure.create({
        type: FAILURE.staleConfig,
        message: `config version ${parsed.data.version} is older than version ${this.#configVersion}, which the lead runs`,
        details: [this.view()],
        nonRetryable: true,
      });
    }
  }

  /**
   * The `config` update's handler: the lead carries on under the new config (the same state, its
   * pending effects and journal), and the loop wakes to recompute its deadlines. The version is
   * recorded by the update itself in history, and carried to the next run in its input.
   */
  reconfigure(rollout: { version: number; config: LeadWorkflowInput['config'] }): LeadView {
    this.#updatesThisRun++;
    const updateId = currentUpdateInfo()?.id;
    if (updateId !== undefined) this.#updateIds.push(updateId);
    // The same version again (a retried rollout) changes nothing.
    if (rollout.version === this.#configVersion) return this.view();
    const cycle = sharedLeadCycle(rollout.config ?? {}, this.#rules);
    const rejection = this.driver.reconfigure(cycle, rollout.version, Date.now());
    if (rejection) log.error('config change refused by the machine', { reason: rejection.message });
    this.#configVersion = rollout.version;
    this.#config = rollout.config;
    log.info('config version applied', { version: rollout.version });
    return this.view();
  }

  /**
   * An update's validator: runs before anything reaches history, so a refusal leaves no trace.
   * `schema` is what the update takes from a caller today (never run on replay).
   */
  validate(schema: CommandSchema, command: unknown): void {
    // A retry of an update an earlier run applied (Temporal answers repeats within a run itself).
    const updateId = currentUpdateInfo()?.id;
    if (updateId !== undefined && this.#carriedUpdateIds.has(updateId)) {
      throw ApplicationFailure.create({
        type: FAILURE.alreadyApplied,
        message: 'this update was applied by an earlier run of the lead',
        details: [this.view()],
        nonRetryable: true,
      });
    }
    const event = this.#commandEvent(schema, command);
    const rejection = this.#addressRejection(event) ?? this.driver.check(event);
    if (rejection) {
      countRejection(rejection);
      throw rejectionFailure(rejection);
    }
  }

  /** An update's handler; `schema` is what its validator took, and what runs recorded before it took. */
  command(schema: CommandSchema, command: unknown): LeadView {
    const rejection = this.driver.offer(this.#commandEvent(schema, command));
    // The validator ran on this same state, so this only happens if another message got in between.
    if (rejection) throw rejectionFailure(rejection);
    this.#updatesThisRun++;
    const updateId = currentUpdateInfo()?.id;
    if (updateId !== undefined) this.#updateIds.push(updateId);
    this.#settle();
    return this.view();
  }

  /** Signals cannot answer: a fact that is malformed or refused is logged (without personal data). */
  fact(fact: LeadFact): void {
    const parsed = LeadFactSchema.safeParse(fact);
    if (!parsed.success) {
      log.warn('fact signal ignored: invalid', { issues: parsed.error.issues.map((i) => i.path.join('.')) });
      return;
    }
    if (hasWideLabel(parsed.data) && !patched(WIDE_LABELS)) {
      log.warn('fact signal ignored: invalid', { issues: ['touch'] });
      return;
    }
    const event = { ...parsed.data, at: Date.now() } as LeadEvent;
    // Signals have no validator: runs recorded before the key-address rule took any profile here.
    const refused = this.#rules.doNotContact ? this.#addressRejection(event) : null;
    const rejection = refused ?? this.driver.offer(event);
    if (rejection) log.warn('fact signal refused', { reason: rejection.message });
    else this.#settle();
  }

  /**
   * Behind QUIET_MESSAGES: what the loop would do after this message, done here when that is all
   * (no effect to carry out, no journal batch, no continue-as-new, no deadline due now): feed what
   * fell due, publish, keep the timer. The loop then sleeps on; otherwise it wakes as before.
   */
  #settle(): void {
    if (!this.#quietMessages) return;
    this.feedDue();
    const next = this.driver.nextDeadline();
    const loopHasWork =
      this.driver.pending.length > 0 ||
      this.#journalIsDue() ||
      this.mustContinueAsNew() ||
      this.#dueNow(next);
    if (loopHasWork) return;
    this.publish();
    this.#armFor(next);
    this.#settled = this.driver.snapshot;
  }

  /** Feeds the deadlines that are due now. */
  feedDue(): void {
    this.driver.feedDue(Date.now());
  }

  /** The effect to carry out next, if any. */
  nextEffect(): PendingEffect | undefined {
    return this.driver.pending[0];
  }

  /**
   * Carries out the next effect; behind CHEAP_STARTS the store writes at the head of the queue go
   * together, as one local activity with the journal batch a stage change makes due. They stay
   * ahead of the effects queued after them: a do-not-contact's suppression entry is written before
   * any send behind it checks the list.
   */
  async carryOutNext(): Promise<void> {
    const first = this.driver.pending[0];
    if (!first) return;
    if (!this.#cheapStarts || !isStoreWrite(first)) return this.carryOut(first);
    const batch: PendingEffect[] = [];
    for (const pending of this.driver.pending) {
      if (!isStoreWrite(pending)) break;
      batch.push(pending);
    }
    const stageChange = batch.some((p) => p.effect.type === 'stage.changed');
    const { journal } = this.driver;
    const entries = stageChange && journal.length > 0 ? journal.slice() : null;
    await recordLocally(batch, entries, this.driver.snapshot, this.#workflowId);
    for (const done of batch) this.driver.effectDone(done);
    // Messages that arrived while it was written stay for the next batch.
    if (entries) this.driver.journalWritten(entries.length);
    else if (stageChange) this.#stageChanged = true;
    this.feedDue();
  }

  /** Carries out one effect, then feeds what fell due meanwhile. */
  async carryOut(effect: PendingEffect): Promise<void> {
    // The cap rides along as data on the same activity (inputs are not compared on replay).
    const { emailCap } = this.driver.cycle.config;
    if (await carryOut(effect, this.driver.snapshot, this.#workflowId, emailCap)) this.#stageChanged = true;
    this.driver.effectDone(effect);
    this.feedDue();
  }

  /**
   * The journal entries to write now, if it is time: with a stage change, a full batch, or after a
   * timer once the oldest entry is old enough.
   */
  journalDue(): JournalItem[] | null {
    const due = this.#journalIsDue();
    this.#stageChanged = false;
    return due ? this.driver.journal.slice() : null;
  }

  #journalIsDue(): boolean {
    const { journal } = this.driver;
    const oldest = journal[0]?.event.at ?? Date.now();
    const stale = this.#afterTimer() && Date.now() - oldest >= JOURNAL_MAX_AGE_DAYS * DAY_MS;
    return journal.length > 0 && (this.#stageChanged || stale || journal.length >= JOURNAL_BATCH);
  }

  async writeJournal(batch: JournalItem[]): Promise<void> {
    if (this.#cheapStarts) await recordLocally([], batch, this.driver.snapshot, this.#workflowId);
    else await writeJournal(batch, this.driver.snapshot, this.#workflowId);
    // Messages that arrived while it was written stay for the next batch.
    this.driver.journalWritten(batch.length);
  }

  /** Refreshes what operators see (search attributes, details). */
  publish(): void {
    this.#operators.publish(this.view(), this.#afterTimer());
    this.#timersPublished = this.driver.timersFed;
  }

  /** Whether a timer event was fed since the last publish (handlers feed them too, with atDeadlines). */
  #afterTimer(): boolean {
    return this.driver.timersFed > this.#timersPublished;
  }

  /**
   * The input of the next run: the lead so far, and (behind its patch) the update ids applied. A
   * declared `startedUnder` rides along in `input`; a run that did not get one does not declare it
   * for the next run (which asks patched() live, true, as before): during a rolling upgrade a worker
   * of the release before may take that run, and only a run it finds the marker in replays there.
   */
  nextRunInput(): LeadWorkflowInput {
    // Decided at continue-as-new, so only runs that continue record the marker.
    const carryIds = this.#cheapStarts || patched('carry-update-ids');
    return {
      ...this.input,
      config: this.#config,
      ...(this.#configVersion !== null ? { configVersion: this.#configVersion } : {}),
      carried: this.driver.carry(),
      updateIds: carryIds ? this.#updateIds.slice(-CARRIED_UPDATE_IDS) : undefined,
    };
  }

  mustContinueAsNew(): boolean {
    const info = workflowInfo();
    return (
      info.continueAsNewSuggested ||
      info.historyLength >= this.#limits.historyLength ||
      this.#updatesThisRun >= this.#limits.updates
    );
  }

  /**
   * Sleeps until a message changes something or the earliest deadline passes; behind QUIET_MESSAGES,
   * a message its handler settled changes nothing here. Not async: a promise only where it waits
   * (each promise of a workflow costs the SDK a stack trace).
   */
  sleep(): Promise<unknown> | undefined {
    const { driver } = this;
    const next = driver.nextDeadline();
    this.#settled = driver.snapshot;
    const woken = () =>
      driver.snapshot !== this.#settled || driver.pending.length > 0 || this.mustContinueAsNew();
    if (this.#quietMessages) {
      // Every wait listens to the alarm: a handler may arm one while the loop sleeps without.
      this.#armFor(next);
      if (this.#dueNow(next)) return undefined;
      this.#alarm.forgetRung();
      return condition(() => woken() || this.#alarm.rang);
    }
    if (next && next.at > Date.now() && this.#fewerEventsPerMessage) {
      this.#armFor(next);
      return condition(() => woken() || this.#alarm.rang);
    }
    this.#countDeferral(next);
    if (next && next.at > Date.now())
      return condition(woken, next.at - Date.now(), { summary: timerSummary(next) });
    if (!next || driver.nextDeadlineRefused) return condition(woken);
    return undefined;
  }

  /** A deadline to feed now, without waiting: due, and not one the machine refused. */
  #dueNow(next: Deadline | null): boolean {
    return next !== null && next.at <= Date.now() && !this.driver.nextDeadlineRefused;
  }

  /** Keeps a timer for the earliest deadline (`Alarm`), counting a deferral by the email cap once. */
  #armFor(next: Deadline | null): void {
    this.#countDeferral(next);
    if (next && next.at > Date.now()) this.#alarm.arm(next);
  }

  #countDeferral(next: Deadline | null): void {
    const nextId = next ? `${next.event}@${next.at}` : null;
    if (next?.deferredByCap && nextId !== this.#lastDeferral) countDeferral();
    this.#lastDeferral = next?.deferredByCap ? nextId : this.#lastDeferral;
  }

  /**
   * An email-keyed lead is mailed at its key address only: a profile that names another address
   * would let one person's record mail another (who may have said no on their own record).
   */
  #addressRejection(event: LeadEvent): Rejection | null {
    const keyAddress = keyAddressOf(this.input.leadKey);
    const given = 'profile' in event ? event.profile.email : undefined;
    if (keyAddress === null || given === undefined || given.trim().toLowerCase() === keyAddress) return null;
    const { value } = this.driver.state;
    return {
      code: 'guard_failed',
      stage: value.lifecycle,
      consent: value.consent,
      event: event.type,
      guard: 'profileEmailIsKey',
      message: `${event.type} refused: profile.email differs from the address the lead is keyed by`,
    };
  }

  #commandEvent(schema: CommandSchema, command: unknown): LeadEvent {
    const parsed = schema.safeParse(command);
    if (!parsed.success) {
      const issues = issuesOf(parsed.error);
      throw ApplicationFailure.create({
        type: FAILURE.invalidCommand,
        message: describeIssues(issues, '(command)'),
        details: [issues],
        nonRetryable: true,
      });
    }
    return { ...parsed.data, at: Date.now() } as LeadEvent;
  }
}

/** Labels as the schema took them before WIDE_LABELS (trimmed, so a parsed label is compared as it was). */
const LABEL_BEFORE_WIDE_LABELS = /^[A-Za-z0-9][A-Za-z0-9 _.:/+-]*$/;

/** Whether a fact's touch holds a label that only the wide labels take. */
function hasWideLabel(fact: LeadFact): boolean {
  const touch = 'touch' in fact ? fact.touch : undefined;
  if (!touch) return false;
  const { channel: _, ...labels } = touch;
  return Object.values(labels).some((label) => label !== undefined && !LABEL_BEFORE_WIDE_LABELS.test(label));
}

/**
 * The rules a run takes. A run that declares them (startedUnder) asks no patch when it runs live:
 * no marker, no TemporalChangeVersion upsert. A worker of the release before a declaration ignores
 * it and asks patched(CHEAP_STARTS), so the run's history may hold the marker all the same:
 * replaying, this asks again, which matches that marker, and records nothing where there is none
 * (patched() replaying without its marker issues no command). Cheap starts are on either way, as
 * they were for the worker that ran it; quiet messages only where no such worker ran it.
 */
function declaredRules(input: LeadWorkflowInput): { cheapStarts: boolean; quietMessages: boolean } {
  const { startedUnder } = input;
  if (startedUnder !== CHEAP_STARTS && startedUnder !== QUIET_MESSAGES)
    return { cheapStarts: patched(CHEAP_STARTS), quietMessages: false };
  // The marker is that worker's, which knew no QUIET_MESSAGES: it woke the loop for every message.
  const markedByReleaseBefore = workflowInfo().unsafe.isReplaying && patched(CHEAP_STARTS);
  return { cheapStarts: true, quietMessages: startedUnder === QUIET_MESSAGES && !markedByReleaseBefore };
}

/** The schema of one update's commands (`command`'s or `merge`'s). */
type CommandSchema = z.ZodType<{ type: string }>;

const rejectionFailure = (rejection: Rejection) =>
  ApplicationFailure.create({
    type: FAILURE.rejected,
    message: rejection.message,
    details: [rejection],
    nonRetryable: true,
  });
