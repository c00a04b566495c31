import { coolDueAt, staleDueAt } from './aging.js';
import { DAY_MS, type LeadcycleConfig } from './config.js';
import type { LeadState } from './decide.js';
import type { TimerEventType } from './events.js';
import {
  cadenceDueAt,
  cooldownOverAt,
  emailsInWindow,
  NURTURED_STAGES,
  newsletterDueAt,
  newsletterVerdict,
  nextContent,
  salesSlaDeadline,
} from './guards.js';

/**
 * Time lives in the workflow, rules live in the machine: these pure functions derive every deadline
 * from the snapshot, so each timer the workflow sets is explainable from the state alone, and a
 * changed config moves the deadlines with it.
 */
export interface Deadline {
  event: TimerEventType;
  at: number;
  /** For nurture: the send was due earlier by cadence but the email cap pushed it here. */
  deferredByCap?: boolean;
}

/**
 * The next marketing email (nurture or newsletter), from whatever config the cycle has: a catalog with
 * a new item gives a lead that used up its family a deadline again.
 */
export function nurtureDeadline(
  state: LeadState,
  config: LeadcycleConfig,
  options: DeadlineOptions = {},
): Deadline | null {
  if (options.newsletterSubscription) return marketingDeadline(state, config);
  const { value, context } = state;
  const kind = NURTURED_STAGES.has(value.lifecycle)
    ? 'nurture'
    : value.lifecycle === 'customer'
      ? 'newsletter'
      : null;
  if (kind === null || value.consent !== 'granted') return null;
  if (!nextContent(context, kind, config).item) return null;

  const cadence = kind === 'newsletter' ? config.newsletterCadenceDays : config.nurtureCadenceDays;
  return withinCap(context, cadenceDueAt(context, cadence), config);
}

/**
 * Newsletter-subscription rule: the sooner of the nurture email and the newsletter, each on its own
 * cadence and both inside one cap (the machine sends the newsletter first when both are due). No
 * deadline when neither has an unsent item: the lead waits for the catalog to grow.
 */
function marketingDeadline({ value, context }: LeadState, config: LeadcycleConfig): Deadline | null {
  if (value.consent !== 'granted') return null;
  const dues: number[] = [];
  if (NURTURED_STAGES.has(value.lifecycle) && nextContent(context, 'nurture', config).item)
    dues.push(cadenceDueAt(context, config.nurtureCadenceDays));
  if (newsletterVerdict(context, config).ok && nextContent(context, 'newsletter', config).item)
    dues.push(newsletterDueAt(context, config));
  if (dues.length === 0) return null;
  // A newsletter overdue behind nurture emails is due now, not in the past: the cap is counted then.
  return withinCap(context, Math.max(Math.min(...dues), context.nurture.lastSentAt ?? 0), config);
}

/** A send due at `due`, or later when the email cap is full then. */
function withinCap(context: LeadState['context'], due: number, config: LeadcycleConfig): Deadline {
  // With the cap reached at `due`, the next send waits until the oldest email in the window leaves it.
  const inWindow = emailsInWindow(context, due, config);
  if (inWindow.length < config.emailCap.max) return { event: 'tick.nurture', at: due };
  const freesAt = (inWindow.at(-config.emailCap.max) ?? due) + config.emailCap.windowDays * DAY_MS;
  return { event: 'tick.nurture', at: Math.max(due, freesAt), deferredByCap: true };
}

const NONE: ReadonlySet<TimerEventType> = new Set();
const NURTURE_AND_DECAY: ReadonlySet<TimerEventType> = new Set(['tick.nurture', 'tick.decay']);

/**
 * The timers that never change a stage under `config`, which a backtest (it counts stages) leaves
 * out: a nurture tick only sends marketing email; a decay tick only moves the score towards 0, so it
 * never lifts a lead over an MQL threshold above 0. At a threshold of 0 or below a negative score
 * decaying to 0 reaches it, and every event re-derives the score decayed to its time, a nurture tick
 * as much as a decay tick: none is left out then. Their transitions target no state, and the
 * eventless transitions a timer can reach (hand-raisers, buying signals) take only outside events
 * (test/machine/stageless-timers.test.ts).
 */
export function stagelessTimers(config: LeadcycleConfig): ReadonlySet<TimerEventType> {
  return config.mqlThreshold > 0 ? NURTURE_AND_DECAY : NONE;
}

export interface DeadlineOptions {
  /** Decay ticks on a fixed grid from the lead's creation (default); false: a tick after the last engagement. */
  decayGrid?: boolean;
  /** Time ages leads (LeadRules.timeAges): `tick.cool` when time changes the temperature, `tick.stale` for an untouched SQL. */
  timeAges?: boolean;
  /** Newsletter-subscription rule: subscribers (and leads whose content ran out) get newsletter deadlines. */
  newsletterSubscription?: boolean;
  /** Deadlines left out, not even computed: a backtest's `stagelessTimers`. */
  omit?: ReadonlySet<TimerEventType>;
}

export function deadlines(
  state: LeadState,
  config: LeadcycleConfig,
  options: DeadlineOptions = {},
): Deadline[] {
  const { value, context } = state;
  const found: Deadline[] = [];
  const omit = options.omit;
  const nurture = omit?.has('tick.nurture') ? null : nurtureDeadline(state, config, options);
  if (nurture) found.push(nurture);
  // A score worth refreshing: below half a point it shows as 0 either way.
  if (
    !omit?.has('tick.decay') &&
    value.lifecycle !== 'merged' &&
    Math.abs(context.engagement.points) >= 0.5
  ) {
    // On a fixed grid from the lead's creation, so engagement between two ticks does not move the tick
    // (and the workflow's timer); `decayGrid: false` keeps the old rule for runs recorded before it.
    const tick = config.decayTickDays * DAY_MS;
    const at =
      options.decayGrid === false
        ? context.engagement.asOf + tick
        : context.createdAt + (Math.floor((context.engagement.asOf - context.createdAt) / tick) + 1) * tick;
    found.push({ event: 'tick.decay', at });
  }
  const sla = value.lifecycle === 'mql' ? salesSlaDeadline(context, config) : null;
  if (sla !== null) found.push({ event: 'sla.expired', at: sla });
  const cooldown = value.lifecycle === 'recycled' ? cooldownOverAt(context, config) : null;
  if (cooldown !== null) found.push({ event: 'cooldown.over', at: cooldown });
  if (options.timeAges) {
    const cool = coolDueAt(context, config);
    if (cool !== null) found.push({ event: 'tick.cool', at: cool });
    // No reminder to call a person who asked for no contact: sales must not work the lead at all.
    const stale = context.consent.doNotContact ? null : staleDueAt(context, config);
    if (stale !== null) found.push({ event: 'tick.stale', at: stale });
  }
  return omit ? found.filter((d) => !omit.has(d.event)) : found;
}

export function nextDeadline(
  state: LeadState,
  config: LeadcycleConfig,
  options: DeadlineOptions = {},
): Deadline | null {
  return deadlines(state, config, options).reduce<Deadline | null>(
    (a, b) => (a === null || b.at < a.at ? b : a),
    null,
  );
}
