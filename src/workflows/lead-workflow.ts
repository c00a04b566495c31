import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { LeadActivities } from '../activities/index.js';
import {
  createLeadCycle,
  DAY_MS,
  type Deadline,
  LeadCommandSchema,
  type LeadEvent,
  LeadFactSchema,
  type LeadSnapshot,
  type Rejection,
} from '../machines/index.js';
import { LeadSearchAttributes } from '../temporal/search-attributes.js';
import {
  commandUpdate,
  FAILURE,
  factSignal,
  type JournalItem,
  type LeadWorkflowInput,
  type PendingEffect,
  stateQuery,
} from './messages.js';
import { countDeferral, countEffects, countRejection } from './metrics.js';

const { recordStageChange, recordJournal, sendContent, handOffToSales } = proxyActivities<LeadActivities>({
  startToCloseTimeout: '1 minute',
  // Effects must happen: retry transient failures for as long as it takes; permanent ones are
  // raised as non-retryable by the activity itself.
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 minutes' },
});

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

/**
 * One long-running workflow per lead. It holds the machine's snapshot, turns commands, facts and its
 * own deadlines into machine events, and carries out the machine's effects as activities.
 */
export async function leadWorkflow(input: LeadWorkflowInput): Promise<void> {
  // Fewer history events per message: the deadline timer kept, decay ticks on a grid, the score
  // published less often. Runs recorded before it replay the way they were written (test/histories).
  const fewerEventsPerMessage = patched('fewer-events-per-message');
  const deadlineOptions = { decayGrid: fewerEventsPerMessage };
  // The events a lead accepts from outside are journaled for backtests (src/analytics/).
  const journalEvents = patched('lead-event-journal');
  const cycle = createLeadCycle(input.config ?? {});
  const { workflowId } = workflowInfo();

  let snapshot: LeadSnapshot;
  const pending: PendingEffect[] = [...(input.carried?.pending ?? [])];
  let effectSeq = input.carried?.effectSeq ?? 0;
  let updatesThisRun = 0;
  const journal: JournalItem[] = [...(input.carried?.journal ?? [])];
  let journalSeq = input.carried?.journalSeq ?? 0;

  const enqueue = (effects: PendingEffect['effect'][]) => {
    countEffects(effects);
    for (const effect of effects) pending.push({ key: `${workflowId}/${++effectSeq}`, effect });
  };

  if (input.carried) {
    snapshot = cycle.restore(input.carried.state);
  } else {
    const started = cycle.start({ leadKey: input.leadKey, at: Date.now() });
    snapshot = started.snapshot;
    enqueue(started.effects);
  }

  const stateOf = () => cycle.stateOf(snapshot);

  /**
   * Applies one event now; the snapshot and the effect queue change together, or not at all. Events
   * from outside are journaled; timer events are not (a backtest derives them from its own config).
   */
  function apply(event: LeadEvent, from: 'outside' | 'timer'): Rejection | null {
    const decision = cycle.apply(snapshot, event);
    if (!decision.ok) return decision.rejection;
    snapshot = decision.snapshot;
    enqueue(decision.effects);
    if (journalEvents && from === 'outside') journal.push({ seq: ++journalSeq, event });
    return null;
  }

  function parseCommand(command: unknown) {
    const parsed = LeadCommandSchema.safeParse(command);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
      throw ApplicationFailure.create({
        type: FAILURE.invalidCommand,
        message: issues.map((i) => `${i.path.join('.') || '(command)'}: ${i.message}`).join('; '),
        details: [issues],
        nonRetryable: true,
      });
    }
    return parsed.data;
  }

  const rejectionFailure = (rejection: Rejection) =>
    ApplicationFailure.create({
      type: FAILURE.rejected,
      message: rejection.message,
      details: [rejection],
      nonRetryable: true,
    });

  setHandler(stateQuery, () => cycle.view(stateOf()));

  setHandler(
    commandUpdate,
    (command) => {
      const rejection = apply({ ...parseCommand(command), at: Date.now() } as LeadEvent, 'outside');
      // The validator ran on this same state, so this only happens if another message got in between.
      if (rejection) throw rejectionFailure(rejection);
      updatesThisRun++;
      return cycle.view(stateOf());
    },
    {
      // Runs before anything is written to history: a refused command leaves no trace but the caller's error.
      validator: (command) => {
        const decision = cycle.apply(snapshot, { ...parseCommand(command), at: Date.now() } as LeadEvent);
        if (!decision.ok) {
          countRejection(decision.rejection);
          throw rejectionFailure(decision.rejection);
        }
      },
    },
  );

  setHandler(factSignal, (fact) => {
    // Signals cannot answer: a fact that is malformed or refused is logged (without personal data).
    const parsed = LeadFactSchema.safeParse(fact);
    if (!parsed.success) {
      log.warn('fact signal ignored: invalid', { issues: parsed.error.issues.map((i) => i.path.join('.')) });
      return;
    }
    const rejection = apply({ ...parsed.data, at: Date.now() } as LeadEvent, 'outside');
    if (rejection) log.warn('fact signal refused', { reason: rejection.message });
  });

  let lastAttributes = '';
  let publishedScore: number | null = null;
  /**
   * Keeps what operators see current: the search attributes when they change, and the details.
   * The score moves with every engagement, and each upsert is a history event and a visibility
   * write: it is published with the other attributes' changes and after timer events (at least
   * every decay tick), not after every message.
   */
  function publish(afterTimer: boolean) {
    const { context, value } = snapshot;
    const attributes: Parameters<typeof upsertSearchAttributes>[0] = [
      { key: LeadSearchAttributes.stage, value: value.lifecycle },
      { key: LeadSearchAttributes.score, value: context.score },
      { key: LeadSearchAttributes.temperature, value: context.temperature },
      { key: LeadSearchAttributes.buyingStage, value: context.buyingStage },
      { key: LeadSearchAttributes.owner, value: context.sales.owner ?? 'marketing' },
    ];
    const tracked = fewerEventsPerMessage
      ? attributes.filter((a) => a.key !== LeadSearchAttributes.score)
      : attributes;
    const key = JSON.stringify(tracked.map((a) => a.value));
    const scoreDue = fewerEventsPerMessage && afterTimer && context.score !== publishedScore;
    if ((key !== lastAttributes || scoreDue) && input.searchAttributes !== false) {
      upsertSearchAttributes(attributes);
      publishedScore = context.score;
    }
    lastAttributes = key;
    // Details are not a history event: refreshing them after every change costs nothing durable.
    setCurrentDetails(details());
  }

  function details(): string {
    const view = cycle.view(stateOf());
    const next = view.next.map(
      (d) => `- ${d.event} at ${d.at}${d.deferredByCap ? ' (deferred by the email cap)' : ''}`,
    );
    return [
      `**${view.stage}** · ${view.temperature} · ${view.buyingStage} · score ${view.score} · fit ${view.fitScore}%` +
        ` · consent ${view.consent} · owner ${view.owner ?? 'marketing'}`,
      next.length ? `Waiting for:\n${next.join('\n')}` : 'Waiting for: commands only (no timer running)',
    ].join('\n\n');
  }

  let stageChanged = false;
  /** Carries out one effect; a permanent failure is logged and skipped so the lead moves on. */
  async function carryOut({ key, effect }: PendingEffect) {
    const { context } = snapshot;
    const base = { idempotencyKey: key, workflowId, leadKey: context.leadKey };
    try {
      if (effect.type === 'stage.changed') {
        await recordStageChange({ ...base, change: effect });
        stageChanged = true;
      } else if (effect.type === 'content.send') {
        if (!context.profile.email) throw ApplicationFailure.nonRetryable('the lead has no email address');
        await sendContent({
          ...base,
          to: {
            email: context.profile.email,
            firstName: context.profile.firstName,
            lastName: context.profile.lastName,
          },
          content: effect,
        });
      } else {
        await handOffToSales({
          ...base,
          lead: {
            profile: context.profile,
            score: context.score,
            fitScore: context.fit.score,
            persona: context.fit.persona,
            temperature: context.temperature,
            buyingStage: context.buyingStage,
            stage: snapshot.value.lifecycle,
          },
          handoff: effect,
        });
      }
    } catch (err) {
      if (!(err instanceof ActivityFailure || err instanceof ApplicationFailure)) throw err;
      log.error('effect failed permanently', {
        effect: effect.type,
        key,
        error: err.cause?.message ?? err.message,
      });
    }
  }

  /**
   * Feeds every deadline that has passed, soonest first; a deadline the machine refuses is not retried.
   * Says whether it fed any.
   */
  let refused: string | null = null;
  function fireDueTimers(): boolean {
    let fed = false;
    for (;;) {
      const next: Deadline | null = cycle.nextDeadline(stateOf(), deadlineOptions);
      if (!next || next.at > Date.now()) return fed;
      const id = `${next.event}@${next.at}`;
      if (id === refused) return fed;
      const rejection = apply({ type: next.event, at: Date.now() }, 'timer');
      if (rejection) {
        refused = id;
        log.error('timer refused by the machine', { reason: rejection.message });
        return fed;
      }
      fed = true;
    }
  }

  /**
   * One durable timer for the earliest deadline, kept while the loop wakes for messages: only an
   * earlier deadline replaces it (with decay ticks on a grid, messages rarely move a deadline; one
   * that moves later lets it ring early once, and the loop then finds nothing due and sets the next).
   * Re-arming on every wake-up cost a TIMER_CANCELED and a TIMER_STARTED per message, and a
   * cancelled scope with its CancelledFailure in the worker.
   */
  let alarm: { at: number; rang: boolean; scope: CancellationScope } | null = null;
  function armAlarm(next: Deadline): { rang: boolean } {
    if (alarm && !alarm.rang && alarm.at <= next.at) return alarm;
    if (alarm && !alarm.rang) alarm.scope.cancel();
    const scope = new CancellationScope();
    const armed = { at: next.at, rang: false, scope };
    scope
      .run(() =>
        sleep(next.at - Date.now(), { summary: `${next.event} at ${new Date(next.at).toISOString()}` }),
      )
      .then(
        () => {
          armed.rang = true;
        },
        (err) => {
          if (!isCancellation(err)) throw err;
        },
      );
    alarm = armed;
    return armed;
  }

  /** Writes the journaled events so far; a batch refused for good is logged and dropped. */
  async function flushJournal() {
    const batch = journal.slice();
    try {
      await recordJournal({
        workflowId,
        leadKey: snapshot.context.leadKey,
        createdAt: snapshot.context.createdAt,
        entries: batch,
      });
    } catch (err) {
      if (!(err instanceof ActivityFailure || err instanceof ApplicationFailure)) throw err;
      log.error('journal batch dropped', { events: batch.length, error: err.cause?.message ?? err.message });
    }
    // Messages that arrived while it was written stay for the next batch.
    journal.splice(0, batch.length);
  }

  const limits = { ...CONTINUE_AS_NEW_AT, ...input.continueAsNewAt };
  const mustContinueAsNew = () =>
    workflowInfo().continueAsNewSuggested ||
    workflowInfo().historyLength >= limits.historyLength ||
    updatesThisRun >= limits.updates;

  let lastDeferral: string | null = null;
  for (;;) {
    let afterTimer = fireDueTimers();
    while (pending.length > 0) {
      const effect = pending[0];
      if (effect) await carryOut(effect);
      pending.shift();
      afterTimer = fireDueTimers() || afterTimer;
    }
    const oldest = journal[0]?.event.at ?? Date.now();
    const stale = afterTimer && Date.now() - oldest >= JOURNAL_MAX_AGE_DAYS * DAY_MS;
    if (journal.length > 0 && (stageChanged || stale || journal.length >= JOURNAL_BATCH)) {
      await flushJournal();
    }
    stageChanged = false;
    publish(afterTimer);

    if (mustContinueAsNew()) {
      await condition(allHandlersFinished);
      if (pending.length === 0) {
        return continueAsNew<typeof leadWorkflow>({
          ...input,
          carried: { state: stateOf(), pending, effectSeq, journal, journalSeq },
        });
      }
      continue;
    }

    // Sleep until a message changes something or the earliest deadline passes.
    const next = cycle.nextDeadline(stateOf(), deadlineOptions);
    const nextId = next ? `${next.event}@${next.at}` : null;
    if (next?.deferredByCap && nextId !== lastDeferral) countDeferral();
    lastDeferral = next?.deferredByCap ? nextId : lastDeferral;
    const version = snapshot;
    const woken = () => snapshot !== version || pending.length > 0 || mustContinueAsNew();
    if (next && next.at > Date.now() && fewerEventsPerMessage) {
      const armed = armAlarm(next);
      await condition(() => woken() || armed.rang);
    } else if (next && next.at > Date.now()) {
      await condition(woken, next.at - Date.now(), {
        summary: `${next.event} at ${new Date(next.at).toISOString()}`,
      });
    } else if (!next || `${next.event}@${next.at}` === refused) {
      await condition(woken);
    }
  }
}
