import { bantAt, isStale, lastSalesActivityAt, staleDueAt, timelinePassesAt } from './aging.js';
import {
  CONTENT_FAMILY_FOR_STAGE,
  DAY_MS,
  type HandRaiserKind,
  HOUR_MS,
  type LeadcycleConfig,
} from './config.js';
import type { LeadContext } from './context.js';
import type { LeadEvent, Profile } from './events.js';
import { disqualifyingRule, profileRuleHits } from './marketing-rules.js';
import { bantGaps, decayedPoints, roundScore } from './scoring.js';
import type { Stage } from './vocabulary.js';

/**
 * Each guard is a check that says why, whichever way it goes. The machine's guards call these, and a
 * rejected command quotes the same words, so the reason a caller reads is the rule that decided.
 */
export interface Verdict {
  ok: boolean;
  why: string;
}

export interface CheckArgs {
  context: LeadContext;
  event: LeadEvent;
}

const atOf = (event: LeadEvent) => event.at;
const iso = (ms: number) => new Date(ms).toISOString();
const list = (items: string[]) =>
  items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;

export function engagementScoreAt(context: LeadContext, at: number, config: LeadcycleConfig): number {
  return roundScore(decayedPoints(context.engagement, at, config));
}

/** Marketing emails sent inside the rolling cap window that ends at `at`. */
export function emailsInWindow(context: LeadContext, at: number, config: LeadcycleConfig): number[] {
  const from = at - config.emailCap.windowDays * DAY_MS;
  return context.nurture.sentAt.filter((t) => t > from && t <= at);
}

/** When the next nurture or newsletter is due by cadence alone (the cap may push it later). */
export function cadenceDueAt(context: LeadContext, cadenceDays: number): number {
  const last = context.nurture.lastSentAt;
  // The first nurture goes out as soon as the lead enters a nurtured stage.
  return quiet(context, last === null ? context.stageEnteredAt : last + cadenceDays * DAY_MS);
}

/** A send due at `due`, or at the end of the lead's quiet time (an imported contact's ramp slot). */
function quiet(context: LeadContext, due: number): number {
  const until = context.nurture.quietUntil;
  return until === undefined ? due : Math.max(due, until);
}

/** The next unsent item for this lead: nurture follows its buying stage, customers get the newsletter. */
export function nextContent(context: LeadContext, kind: 'nurture' | 'newsletter', config: LeadcycleConfig) {
  const family = kind === 'newsletter' ? 'newsletter' : CONTENT_FAMILY_FOR_STAGE[context.buyingStage];
  const item = config.content[family].find((c) => !context.nurture.sentIds.includes(c.id));
  return { family, item } as const;
}

/** The stages whose leads get their buying stage's content family. */
export const NURTURED_STAGES: ReadonlySet<string> = new Set(['lead', 'mql', 'recycled']);

/**
 * The stages where a subscriber gets the newsletter (newsletter-subscription rule): every open stage
 * but a visitor's. While sales owns the lead (SQL, opportunity) nurture stops, but the newsletter the
 * person asked for goes on, inside the same cap.
 */
export const NEWSLETTER_STAGES: ReadonlySet<string> = new Set([
  'lead',
  'mql',
  'sql',
  'opportunity',
  'recycled',
  'customer',
]);

/** Whether a nurtured lead was sent every item of its buying stage's family. */
export function nurtureUsedUp(context: LeadContext, config: LeadcycleConfig): boolean {
  return NURTURED_STAGES.has(context.stage ?? '') && !nextContent(context, 'nurture', config).item;
}

/** Since when the lead is a newsletter subscriber: its own signup, else becoming a customer. */
export function subscribedSince(context: LeadContext): number | null {
  return context.newsletter?.subscribedAt ?? (context.stage === 'customer' ? context.stageEnteredAt : null);
}

/**
 * When the next newsletter is due by cadence alone (newsletter-subscription rule): a cadence after the
 * last issue. The first is due on signup; a lead that gets it only because its nurture ran out gets it
 * when its next nurture email would have been due; a customer a cadence after its last email (as before).
 */
export function newsletterDueAt(context: LeadContext, config: LeadcycleConfig): number {
  const last = context.newsletter?.lastSentAt ?? null;
  if (last !== null) return quiet(context, last + config.newsletterCadenceDays * DAY_MS);
  const signedUp = context.newsletter?.subscribedAt ?? null;
  if (signedUp !== null) return quiet(context, signedUp);
  return context.stage === 'customer'
    ? cadenceDueAt(context, config.newsletterCadenceDays)
    : cadenceDueAt(context, config.nurtureCadenceDays);
}

/** Whether the lead gets the newsletter (newsletter-subscription rule), and why. */
export function newsletterVerdict(context: LeadContext, config: LeadcycleConfig): Verdict {
  const stage = context.stage ?? 'visitor';
  if (!NEWSLETTER_STAGES.has(stage)) return { ok: false, why: `stage ${stage} gets no newsletter` };
  const since = subscribedSince(context);
  if (since !== null) {
    return context.newsletter?.subscribedAt != null
      ? { ok: true, why: `subscribed to the newsletter since ${iso(since)}` }
      : { ok: true, why: 'a customer gets the newsletter' };
  }
  if (config.whenContentRunsOut === 'newsletter' && nurtureUsedUp(context, config)) {
    const { family } = nextContent(context, 'nurture', config);
    return { ok: true, why: `every ${family} item was sent: the newsletter instead (whenContentRunsOut)` };
  }
  return { ok: false, why: 'not subscribed to the newsletter' };
}

export function salesSlaDeadline(context: LeadContext, config: LeadcycleConfig): number | null {
  return context.sales.slaStartedAt === null
    ? null
    : context.sales.slaStartedAt + config.salesSlaHours * HOUR_MS;
}

export function cooldownOverAt(context: LeadContext, config: LeadcycleConfig): number | null {
  return context.recycle === null ? null : context.recycle.since + config.renurtureCooldownDays * DAY_MS;
}

/** The profile as it is once `event` is taken in: a form's or an update's wins, a merged-in record fills gaps. */
export function profileAfter({ context, event }: CheckArgs): Profile {
  if (event.type === 'form.submitted' || event.type === 'profile.updated')
    return { ...context.profile, ...event.profile };
  if (event.type === 'lead.absorbed') return { ...event.facts.profile, ...context.profile };
  return context.profile;
}

/** The hand-raiser an event is (its form kind, or its engagement kind), if the config lists it. */
export function handRaiserOf(event: { type: string }, config: LeadcycleConfig): HandRaiserKind | null {
  const e = event as LeadEvent;
  const kind = e.type === 'form.submitted' ? e.form : e.type === 'engagement' ? e.kind : null;
  return kind !== null && config.handRaisers.includes(kind) ? kind : null;
}

/** When a lost lead's quiet period ends: from then on, new buying signals bring it back. */
export function lostReturnAt(context: LeadContext, config: LeadcycleConfig): number | null {
  return context.closed === null ? null : context.closed.at + config.lostReturnAfterDays * DAY_MS;
}

/**
 * What a refusal adds about the lead's stage, with its numbers (how far from MQL, when the cooldown
 * or a lost lead's quiet period ends), or null when there is nothing to count.
 */
export function stageNote(
  stage: Stage,
  context: LeadContext,
  at: number,
  config: LeadcycleConfig,
  { lostCanReturn }: { lostCanReturn: boolean },
): string | null {
  if (stage === 'lead') {
    const score = engagementScoreAt(context, at, config);
    return (
      `engagement score ${score} of ${config.mqlThreshold} and persona fit ` +
      `${context.fit.score}% of ${config.personaFitThreshold}% for MQL`
    );
  }
  if (stage === 'recycled') {
    const over = cooldownOverAt(context, config);
    return over === null ? null : `re-nurture cooldown ${at >= over ? 'ended' : 'ends'} ${iso(over)}`;
  }
  if (stage === 'lost' && lostCanReturn) {
    const back = lostReturnAt(context, config);
    if (back === null) return null;
    const signals = `a hand-raiser, or engagement up to score ${config.mqlThreshold}, brings it back`;
    return at >= back
      ? `its quiet period after the loss ended ${iso(back)}: ${signals}`
      : `its quiet period after the loss ends ${iso(back)}: then ${signals}`;
  }
  return null;
}

export const createChecks = (config: LeadcycleConfig) => ({
  scoreAtLeast({ context, event }: CheckArgs, { threshold }: { threshold: number }): Verdict {
    const score = engagementScoreAt(context, atOf(event), config);
    return score >= threshold
      ? { ok: true, why: `engagement score ${score} reaches ${threshold}` }
      : { ok: false, why: `engagement score ${score} is below ${threshold}` };
  },

  fitsPersona({ context }: CheckArgs, { minFit }: { minFit: number }): Verdict {
    const { persona, score } = context.fit;
    return persona !== null && score >= minFit
      ? { ok: true, why: `fits persona ${persona} (${score}%)` }
      : { ok: false, why: `fits no buyer persona (best match ${score}%, needs ${minFit}%)` };
  },

  contactAllowed({ context }: CheckArgs): Verdict {
    return context.consent.doNotContact
      ? { ok: false, why: 'the person asked not to be contacted (do-not-contact): no contact of any kind' }
      : { ok: true, why: 'contact allowed' };
  },

  /** A profile rule with the action `disqualify` matches the profile this event makes known. */
  breaksDisqualifyingRule(args: CheckArgs): Verdict {
    const hit = disqualifyingRule(profileAfter(args), config);
    return hit
      ? { ok: true, why: `${hit.why}: disqualified as ${hit.reason}` }
      : { ok: false, why: 'no disqualifying profile rule matches' };
  },

  /** No profile rule holds the lead back from sales: neither a disqualifying one nor a never-MQL one. */
  clearsProfileRules({ context }: CheckArgs): Verdict {
    const hit = profileRuleHits(context.profile, config)[0];
    return hit
      ? { ok: false, why: `${hit.why}: never an MQL` }
      : { ok: true, why: 'no profile rule holds the lead back' };
  },

  bantComplete({ context, event }: CheckArgs): Verdict {
    // The timeline as it stands now: it counts down from the day it was given (src/machines/aging.ts).
    const gaps = bantGaps(bantAt(context, atOf(event)), config);
    if (gaps.length === 0) return { ok: true, why: 'BANT complete' };
    const passed = timelinePassesAt(context);
    const when =
      gaps.includes('timeline') && passed !== null && passed <= atOf(event)
        ? ` (the ${context.bant.timelineMonths}-month timeline passed on ${iso(passed)})`
        : '';
    return { ok: false, why: `needs BANT complete: ${list(gaps)} missing${when}` };
  },

  salesQuiet({ context, event }: CheckArgs): Verdict {
    const days = config.staleAfterDays;
    if (isStale(context)) return { ok: false, why: 'already stale: the owner was reminded once' };
    const due = staleDueAt(context, config);
    if (due === null) return { ok: false, why: 'needs an SQL or opportunity that sales works' };
    const last = iso(lastSalesActivityAt(context) ?? due);
    return atOf(event) >= due
      ? { ok: true, why: `no sales activity for ${days} days (the last on ${last})` }
      : { ok: false, why: `needs ${days} days without sales activity: the last was on ${last}` };
  },

  withinEmailCap(
    { context, event }: CheckArgs,
    { max, windowDays }: { max: number; windowDays: number },
  ): Verdict {
    const sent = emailsInWindow(context, atOf(event), config).length;
    return sent < max
      ? { ok: true, why: `${sent} of ${max} emails sent in the last ${windowDays} days` }
      : { ok: false, why: `email cap reached: ${sent} of ${max} emails in the last ${windowDays} days` };
  },

  cadenceElapsed({ context, event }: CheckArgs, { cadenceDays }: { cadenceDays: number }): Verdict {
    const due = cadenceDueAt(context, cadenceDays);
    return atOf(event) >= due
      ? { ok: true, why: 'the next send is due' }
      : { ok: false, why: `the next send is not due before ${iso(due)}` };
  },

  hasUnsentContent({ context }: CheckArgs, { kind }: { kind: 'nurture' | 'newsletter' }): Verdict {
    const { family, item } = nextContent(context, kind, config);
    return item
      ? { ok: true, why: `${family} item ${item.id} is next` }
      : { ok: false, why: `every ${family} item was already sent` };
  },

  /** Newsletter-subscription rule: a subscriber in an open stage, or a nurtured lead whose content ran out. */
  receivesNewsletter({ context }: CheckArgs): Verdict {
    return newsletterVerdict(context, config);
  },

  newsletterCadenceElapsed({ context, event }: CheckArgs): Verdict {
    const due = newsletterDueAt(context, config);
    return atOf(event) >= due
      ? { ok: true, why: 'the next newsletter is due' }
      : { ok: false, why: `the next newsletter is not due before ${iso(due)}` };
  },

  slaElapsed({ context, event }: CheckArgs): Verdict {
    const deadline = salesSlaDeadline(context, config);
    if (deadline === null) return { ok: false, why: 'needs a running sales SLA' };
    return atOf(event) >= deadline
      ? { ok: true, why: `the sales SLA expired at ${iso(deadline)}` }
      : { ok: false, why: `needs the sales SLA expired: it runs until ${iso(deadline)}` };
  },

  slaEscalated({ context }: CheckArgs): Verdict {
    return context.sales.escalated
      ? { ok: true, why: 'the sales SLA was already escalated once' }
      : { ok: false, why: 'the sales SLA was not escalated yet' };
  },

  cooldownElapsed({ context, event }: CheckArgs): Verdict {
    const over = cooldownOverAt(context, config);
    if (over === null) return { ok: false, why: 'needs a running re-nurture cooldown' };
    return atOf(event) >= over
      ? { ok: true, why: 're-nurture cooldown is over' }
      : { ok: false, why: `needs the re-nurture cooldown over: it runs until ${iso(over)}` };
  },

  handRaised({ event }: CheckArgs): Verdict {
    const kind = handRaiserOf(event, config);
    return kind
      ? { ok: true, why: `a hand-raiser (${kind})` }
      : { ok: false, why: `needs a hand-raiser (${list(config.handRaisers)})` };
  },

  quietPeriodOver({ context, event }: CheckArgs): Verdict {
    const back = lostReturnAt(context, config);
    if (back === null) return { ok: false, why: 'needs a lost deal' };
    return atOf(event) >= back
      ? { ok: true, why: `the quiet period after the loss ended ${iso(back)}` }
      : { ok: false, why: `needs the quiet period after the loss over: it ends ${iso(back)}` };
  },

  buyingSignal({ event }: CheckArgs): Verdict {
    return event.type === 'form.submitted' || event.type === 'engagement' || event.type === 'visit'
      ? { ok: true, why: `${event.type} is a buying signal` }
      : { ok: false, why: `${event.type} is no buying signal (a form, an engagement or a visit)` };
  },

  dealLostFor({ event }: CheckArgs, { reason }: { reason: string }): Verdict {
    const actual = event.type === 'deal.lost' ? event.reason : null;
    return actual === reason
      ? { ok: true, why: `deal lost for ${reason}` }
      : { ok: false, why: `deal lost for ${actual ?? 'no reason'}, not ${reason}` };
  },

  notYetAbsorbed({ context, event }: CheckArgs): Verdict {
    const from = event.type === 'lead.absorbed' ? event.from : null;
    if (from === context.leadKey) return { ok: false, why: 'a lead cannot absorb itself' };
    return from !== null && context.absorbed.includes(from)
      ? { ok: false, why: `${from} was already merged into this lead` }
      : { ok: true, why: 'not merged in yet' };
  },

  absorbedWithdrawnConsent({ event }: CheckArgs): Verdict {
    return event.type === 'lead.absorbed' && event.facts.consent === 'withdrawn'
      ? { ok: true, why: 'the merged lead had unsubscribed' }
      : { ok: false, why: 'the merged lead had not unsubscribed' };
  },

  absorbedGrantedConsent({ event }: CheckArgs): Verdict {
    return event.type === 'lead.absorbed' && event.facts.consent === 'granted'
      ? { ok: true, why: 'the merged lead had opted in' }
      : { ok: false, why: 'the merged lead had not opted in' };
  },

  notMergedIntoItself({ context, event }: CheckArgs): Verdict {
    return event.type === 'lead.merged' && event.into === context.leadKey
      ? { ok: false, why: 'a lead cannot be merged into itself' }
      : { ok: true, why: 'merged into another lead' };
  },

  formGivesConsent({ event }: CheckArgs): Verdict {
    return event.type === 'form.submitted' && event.consent
      ? { ok: true, why: 'the form carries an explicit opt-in' }
      : { ok: false, why: 'the form carries no opt-in' };
  },
});

/** Consent lives in its own parallel region: the machine reads it with `stateIn`, explanations with this. */
export function consentVerdict(consent: string): Verdict {
  if (consent === 'granted') return { ok: true, why: 'marketing consent given' };
  return {
    ok: false,
    why:
      consent === 'withdrawn'
        ? 'the lead unsubscribed: no marketing content until it resubscribes'
        : 'no marketing consent given yet',
  };
}

/** The lifecycle region's counterpart: a merged lead takes nothing more. */
export function openVerdict(stage: string): Verdict {
  return stage === 'merged'
    ? { ok: false, why: 'the lead was merged into another one: address the survivor' }
    : { ok: true, why: 'the lead is open' };
}

export type Checks = ReturnType<typeof createChecks>;
