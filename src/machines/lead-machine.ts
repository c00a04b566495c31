import { and, assertEvent, assign, enqueueActions, not, setup, stateIn } from 'xstate';
import { isStale, lastSalesActivityAt, noteActivity } from './aging.js';
import { DAY_MS, type EngagementKind, HOUR_MS, type LeadcycleConfig } from './config.js';
import { derive as deriveFacts, initialContext, type LeadContext, type LeadInput } from './context.js';
import type { Effect } from './effects.js';
import { IMPORTED_STAGES, type ImportedStage, type LeadEvent, type Profile } from './events.js';
import { type CheckArgs, createChecks, handRaiserOf, nextContent, type Verdict } from './guards.js';
import { disqualifyingRule, pageKinds } from './marketing-rules.js';
import { decayTo, engage, fillBant, furthestStage, mergeBant, NO_ENGAGEMENT } from './scoring.js';
import type { Touch } from './touch.js';
import type { BuyingStage, ConsentSource, ConsentState, Stage } from './vocabulary.js';

const ENGAGEMENT_OF_FORM = {
  contact: 'info_request',
  info_request: 'info_request',
  quote_request: 'quote_request',
  demo_request: 'demo_request',
  content_download: 'content_download',
  webinar: 'webinar_registered',
  newsletter: 'newsletter_signup',
} as const satisfies Record<string, EngagementKind>;

/** What an engagement scores: its kind, the buying stage of its content, and a form's profile. */
export interface Engaged {
  kind: EngagementKind;
  contentStage: BuyingStage | undefined;
  profile?: Profile;
}

/** A form is an engagement of the form's kind, and identifies the lead. */
const formEngagement = {
  type: 'recordEngagement',
  params: ({ event }: { event: LeadEvent }): Engaged => {
    assertEvent(event, 'form.submitted');
    return { kind: ENGAGEMENT_OF_FORM[event.form], contentStage: event.contentStage, profile: event.profile };
  },
} as const;

/**
 * A capture's or a visit's touch, when it gives one: a visit's names the visit's channel, a form's
 * the form's kind, unless the touch names its own.
 */
const recordTouch = {
  type: 'recordTouch',
  params: ({ event }: { event: LeadEvent }): { touch: Touch | undefined } => {
    assertEvent(event, ['visit', 'form.submitted']);
    if (!event.touch) return { touch: undefined };
    return event.type === 'visit'
      ? { touch: { channel: event.channel, ...event.touch } }
      : { touch: { form: event.form, ...event.touch } };
  },
} as const;

/** Where a consent change came from: the command says so, else its kind does. */
function consentSourceOf(event: LeadEvent): ConsentSource {
  if ('source' in event && event.source) return event.source;
  if (event.type === 'form.submitted') return 'form';
  if (event.type === 'lead.absorbed') return 'merge';
  return 'api';
}

/** The initial entry runs on xstate's own init event, which carries no time: the lead's creation time stands in. */
const timeOf = (event: { at?: number }, context: LeadContext) => event.at ?? context.createdAt;

const latest = (times: Array<number | null>): number | null =>
  times.reduce<number | null>((a, t) => (t === null ? a : a === null ? t : Math.max(a, t)), null);

/**
 * An imported contact's first possible send: a slot between an hour and `rampDays` after the import,
 * spread evenly by its lead key (FNV-1a), so the same contact always gets the same slot.
 */
export function rampSlotOf(leadKey: string, importedAt: number, rampDays: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < leadKey.length; i++) hash = Math.imul(hash ^ leadKey.charCodeAt(i), 0x01000193) >>> 0;
  const span = Math.max(0, rampDays * DAY_MS - HOUR_MS);
  return importedAt + HOUR_MS + Math.floor((hash / 2 ** 32) * span);
}

/** The reason a stage change carries, when the event that caused it gives one. */
function reasonOf(event: LeadEvent | { type: string }): string | null {
  if ('reason' in event && typeof event.reason === 'string') return event.reason;
  if (event.type === 'sla.expired') return 'sales_sla_expired';
  if (event.type === 'cooldown.over') return 'cooldown_over';
  return null;
}

/**
 * Rules that changed what the machine decides, each switchable so that a lead's workflow recorded
 * before the change replays as it ran (the workflow sets them from `patched()`).
 */
export interface LeadRules {
  /**
   * Do-not-contact means no contact: no handoff to sales, no escalation, no acceptance; the CRM is
   * told once. And every consent change comes out as a `consent.changed` effect (proof of consent).
   */
  doNotContact: boolean;
  /**
   * Marketing rules from the config: a profile that breaks a disqualifying rule (a competitor's
   * domain, a job function) closes the lead, one that breaks any rule is never made an MQL, and a
   * visit to a page that matches `pageRules` scores as that kind (`/pricing*` is the pricing page).
   */
  marketingRules: boolean;
  /**
   * Time ages a lead (src/machines/aging.ts): a BANT timeline counts down from the day it was given,
   * a silent, recycled or lost lead turns cold, and an SQL or opportunity sales leaves untouched is
   * reminded once (`sales.stale_reminder`) and flagged stale. Its deadlines: `tick.cool`, `tick.stale`.
   */
  timeAges: boolean;
  /**
   * Sales decides (docs/domain.md: "Hand-raisers", "Sales handoff and SLA", "Lost deals"): a
   * persona-fit hand-raiser is an MQL at once; sales may accept a BANT-complete lead before MQL
   * (`sales_override`); a lost lead with new buying signals after its quiet period comes back.
   */
  salesDecides: boolean;
  /**
   * The newsletter is a subscription: a newsletter form subscribes, customers are subscribers, and
   * every consenting subscriber in an open stage gets it on its cadence inside the email cap; a
   * nurtured lead whose family is used up falls back to it (`whenContentRunsOut`). Deadlines too.
   */
  newsletterSubscription: boolean;
}

/** What new leads, the backtest and the simulator run. */
export const LATEST_RULES: LeadRules = {
  doNotContact: true,
  marketingRules: true,
  timeAges: true,
  salesDecides: true,
  newsletterSubscription: true,
};

/**
 * The lead-cycle machine for one config. Config values are guard and action parameters, so the
 * snapshot holds only the lead's facts and a backtest can run the same history under another config.
 */
export function createLeadMachine(config: LeadcycleConfig, rules: LeadRules = LATEST_RULES) {
  let inert: LeadContext | undefined;
  const placeholder = () => {
    inert ??= initialContext({ leadKey: 'placeholder', at: 0 }, config, rules.timeAges);
    return inert;
  };
  /** The derived facts under this machine's rules: aged by time when time ages leads. */
  const derive = (context: LeadContext, at: number, config: LeadcycleConfig) =>
    deriveFacts(context, at, config, rules.timeAges);
  const checks = createChecks(config);
  // Runs recorded before do-not-contact meant no contact replay without the check.
  const contactAllowed: typeof checks.contactAllowed = (args) =>
    rules.doNotContact ? checks.contactAllowed(args) : { ok: true, why: 'contact allowed' };
  // Runs recorded before the marketing rules take every profile and score every visit as a page view.
  const breaksDisqualifyingRule: typeof checks.breaksDisqualifyingRule = (args) =>
    rules.marketingRules ? checks.breaksDisqualifyingRule(args) : { ok: false, why: 'no marketing rules' };
  const clearsProfileRules: typeof checks.clearsProfileRules = (args) =>
    rules.marketingRules ? checks.clearsProfileRules(args) : { ok: true, why: 'no marketing rules' };
  const pageKind = pageKinds(rules.marketingRules ? config.pageRules : []);
  /** Why a lead closes: the command's reason and note, else the disqualifying profile rule it broke. */
  const closingOf = (event: LeadEvent, context: LeadContext) => {
    const reason = reasonOf(event);
    const note = 'note' in event && event.note !== undefined ? event.note : null;
    const hit =
      reason === null && rules.marketingRules ? disqualifyingRule(context.profile, config) : undefined;
    return hit ? { reason: hit.reason, note: hit.note } : { reason, note };
  };
  /** The reason a stage change carries: the rule that made it (behind salesDecides), else the event's. */
  const stageReason = (event: LeadEvent | { type: string }, from: Stage | null, to: Stage) => {
    if (rules.salesDecides) {
      const raised = handRaiserOf(event, config);
      if (to === 'mql' && raised) return `hand_raiser:${raised}`;
      if (to === 'sql' && (from === 'lead' || from === 'recycled')) return 'sales_override';
      if (to === 'lead' && from === 'lost') return 'came_back';
    }
    return reasonOf(event);
  };
  /** Wraps a check as an xstate guard; the parallel consent region is read through `stateIn` instead. */
  const guard =
    <P>(check: (args: CheckArgs, params: P) => Verdict) =>
    (args: CheckArgs, params: P) =>
      check(args, params).ok;

  /** A marketing email of `kind` when consent, the cap, the cadence and the catalog all allow it. */
  const sendWhenDue = (kind: 'nurture' | 'newsletter', cadenceDays: number) =>
    ({
      guard: and([
        'consentGiven',
        {
          type: 'withinEmailCap',
          params: { max: config.emailCap.max, windowDays: config.emailCap.windowDays },
        },
        { type: 'cadenceElapsed', params: { cadenceDays } },
        { type: 'hasUnsentContent', params: { kind } },
      ]),
      actions: { type: 'sendContent', params: { kind } },
    }) as const;
  const nurture = sendWhenDue('nurture', config.nurtureCadenceDays);

  // Handled in each open stage, not at the root: xstate drops a root transition when the consent
  // region takes the same event, and a merge must carry facts and consent together.
  const absorb = { guard: 'notYetAbsorbed', actions: 'absorbFacts' } as const;
  /** What every open stage takes in: a merged-in record's facts, and a form's engagement. */
  const openStage = {
    'lead.absorbed': absorb,
    'form.submitted': {
      actions: ['restateDoNotContact', formEngagement, recordTouch, 'subscribeNewsletter'],
    },
  } as const;
  /** The stages where sales qualifies a lead take BANT updates too. */
  const qualifyingStage = { ...openStage, 'bant.updated': { actions: 'updateBant' } } as const;
  /**
   * The stages marketing owns close a lead whose newly known profile breaks a disqualifying rule
   * (a form, a profile update, a merged-in record), taking the facts in as they go. Not `sql` or
   * `opportunity`: sales owns those and disqualifies by command.
   */
  const byRule = <A>(actions: A) =>
    ({ guard: 'breaksDisqualifyingRule', target: 'disqualified', actions }) as const;
  const formByRule = byRule(['restateDoNotContact', formEngagement, recordTouch] as const);
  const ruledStage = {
    'form.submitted': [formByRule, openStage['form.submitted']],
    'profile.updated': byRule(['restateDoNotContact', 'updateProfile'] as const),
    'lead.absorbed': [
      {
        guard: and(['notYetAbsorbed', 'breaksDisqualifyingRule']),
        target: 'disqualified',
        actions: 'absorbFacts',
      },
      absorb,
    ],
  } as const;
  /** The other half of a merge: this record closes, the survivor carries on. */
  const mergeAway = { guard: 'notMergedIntoItself', target: 'merged', actions: 'recordMerge' } as const;

  /**
   * Newsletter-subscription rule: the newsletter on its own cadence to whoever receives it, inside the
   * same cap. Where nurture goes too, the newsletter is tried first: the person asked for it, it is
   * dated, and at the default cadences nurture alone would fill every slot of the cap.
   */
  const subscription = {
    guard: and([
      'consentGiven',
      {
        type: 'withinEmailCap',
        params: { max: config.emailCap.max, windowDays: config.emailCap.windowDays },
      },
      'receivesNewsletter',
      'newsletterCadenceElapsed',
      { type: 'hasUnsentContent', params: { kind: 'newsletter' as const } },
    ]),
    actions: { type: 'sendContent', params: { kind: 'newsletter' as const } },
  } as const;
  const newsletter = rules.newsletterSubscription
    ? subscription
    : sendWhenDue('newsletter', config.newsletterCadenceDays);
  /** A nurtured stage's tick: nurture, and with the rule the newsletter before it. */
  const nurtureTick = rules.newsletterSubscription ? [subscription, nurture] : nurture;
  /** While sales owns the lead no nurture goes out, but a subscriber still gets the newsletter it asked for. */
  const salesOwnedStage = rules.newsletterSubscription ? ({ 'tick.nurture': subscription } as const) : {};

  // Sales decides: transitions that exist only behind `rules.salesDecides`, so runs recorded before
  // it have the machine they ran.
  const mqlBar = { type: 'scoreAtLeast', params: { threshold: config.mqlThreshold } } as const;
  const fit = { type: 'fitsPersona', params: { minFit: config.personaFitThreshold } } as const;
  /** A persona-fit hand-raiser goes to sales at once, whatever its score; never a do-not-contact or a ruled-out profile. */
  const handRaise = rules.salesDecides
    ? ([{ guard: and(['handRaised', fit, 'contactAllowed', 'clearsProfileRules']), target: 'mql' }] as const)
    : [];
  /** Sales accepts a lead it qualified itself (BANT complete) before it is an MQL. */
  const salesOverride = rules.salesDecides
    ? ({
        'sales.accepted': {
          guard: and(['bantComplete', 'contactAllowed']),
          target: 'sql',
          actions: 'assignOwner',
        },
      } as const)
    : {};
  /** A lost lead comes back after its quiet period: with a hand-raiser, or engagement up to the MQL bar. */
  const comeBack = rules.salesDecides
    ? ({
        always: [
          { guard: and(['quietPeriodOver', 'handRaised']), target: 'lead', actions: 'reopenLead' },
          {
            guard: and(['quietPeriodOver', 'buyingSignal', mqlBar]),
            target: 'lead',
            actions: 'reopenLead',
          },
        ],
      } as const)
    : {};

  return setup({
    types: {
      context: {} as LeadContext,
      events: {} as LeadEvent,
      input: {} as LeadInput,
      emitted: {} as Effect,
    },
    guards: {
      scoreAtLeast: guard(checks.scoreAtLeast),
      fitsPersona: guard(checks.fitsPersona),
      bantComplete: guard(checks.bantComplete),
      consentGiven: stateIn({ consent: 'granted' }),
      withinEmailCap: guard(checks.withinEmailCap),
      cadenceElapsed: guard(checks.cadenceElapsed),
      hasUnsentContent: guard(checks.hasUnsentContent),
      receivesNewsletter: guard(checks.receivesNewsletter),
      newsletterCadenceElapsed: guard(checks.newsletterCadenceElapsed),
      slaElapsed: guard(checks.slaElapsed),
      slaEscalated: guard(checks.slaEscalated),
      cooldownElapsed: guard(checks.cooldownElapsed),
      salesQuiet: guard(checks.salesQuiet),
      dealLostFor: guard(checks.dealLostFor),
      handRaised: guard(checks.handRaised),
      quietPeriodOver: guard(checks.quietPeriodOver),
      buyingSignal: guard(checks.buyingSignal),
      formGivesConsent: guard(checks.formGivesConsent),
      // Both off for runs recorded before the marketing rules.
      breaksDisqualifyingRule: guard(breaksDisqualifyingRule),
      clearsProfileRules: guard(clearsProfileRules),
      // Off for runs recorded before do-not-contact meant no contact.
      contactAllowed: guard(contactAllowed),
      notYetAbsorbed: guard(checks.notYetAbsorbed),
      absorbedWithdrawnConsent: guard(checks.absorbedWithdrawnConsent),
      absorbedGrantedConsent: guard(checks.absorbedGrantedConsent),
      notMergedIntoItself: guard(checks.notMergedIntoItself),
      isOpen: not(stateIn({ lifecycle: 'merged' })),
      importedAs: ({ event }, { stage }: { stage: ImportedStage }) =>
        event.type === 'lead.imported' && event.stage === stage,
    },
    actions: {
      enterStage: enqueueActions(({ context, event, enqueue }, { stage }: { stage: Stage }) => {
        // An imported stage keeps the date the other tool gave it (importContact set it).
        const at = event.type === 'lead.imported' ? context.stageEnteredAt : timeOf(event, context);
        // The deal's amount goes with the change into an opportunity or a customer: revenue forecasts read it.
        const amount = stage === 'opportunity' || stage === 'customer' ? context.deal.amount : null;
        const reason =
          stage === 'disqualified'
            ? closingOf(event, context).reason
            : stageReason(event, context.stage, stage);
        enqueue.emit({
          type: 'stage.changed',
          from: context.stage,
          to: stage,
          at,
          cause: event.type,
          reason,
          ...(amount !== null ? { amount } : {}),
          // The touches as of the change: the last one is the touch that preceded it (attribution).
          ...(context.touches ? { firstTouch: context.touches.first, lastTouch: context.touches.last } : {}),
          // assignOwner runs before the entry and startCooldown after it: the change into an SQL and
          // the one out of sales both name the owner.
          ...(context.sales.owner !== null ? { owner: context.sales.owner } : {}),
        });
        enqueue.assign({
          stage,
          stageEnteredAt: at,
          stageCause: { cause: event.type, reason },
        });
        // A stage entered by sales is a sales activity; time's facts are refreshed for the new stage.
        if (rules.timeAges)
          enqueue.assign(({ context }) =>
            derive({ ...context, aging: noteActivity(context, { ...event, at } as LeadEvent) }, at, config),
          );
      }),

      /** The first touch is kept; every touch is the last. Nothing changes without one. */
      recordTouch: enqueueActions(({ context, enqueue }, { touch }: { touch: Touch | undefined }) => {
        if (!touch) return;
        enqueue.assign({ touches: { first: context.touches?.first ?? touch, last: touch } });
      }),

      /** An engagement of `kind` scores; a form also tells who the lead is. */
      recordEngagement: assign(({ context, event }, { kind, contentStage, profile }: Engaged) =>
        derive(
          {
            ...context,
            profile: profile ? { ...context.profile, ...profile } : context.profile,
            engagement: engage(context.engagement, kind, contentStage, event.at, config),
          },
          event.at,
          config,
        ),
      ),

      /**
       * A do-not-contact lead that learns an address (a CRM record that gets its email): the DNC is
       * restated, so the address joins its tenant's suppression list. Runs before the profile changes.
       */
      restateDoNotContact: enqueueActions(({ context, event, enqueue }) => {
        const email = 'profile' in event ? event.profile.email : undefined;
        if (!rules.doNotContact || !context.consent.doNotContact || !email || email === context.profile.email)
          return;
        const source = consentSourceOf(event);
        enqueue.emit({
          type: 'consent.changed',
          consent: 'withdrawn',
          doNotContact: true,
          source,
          at: event.at,
        });
      }),

      updateProfile: assign(({ context, event }) => {
        assertEvent(event, 'profile.updated');
        return derive({ ...context, profile: { ...context.profile, ...event.profile } }, event.at, config);
      }),

      updateBant: assign(({ context, event }) => {
        assertEvent(event, 'bant.updated');
        // With time ageing, a sales activity, and the timeline counts from now.
        const aging = rules.timeAges ? { aging: noteActivity(context, event) } : {};
        return derive({ ...context, bant: mergeBant(context.bant, event.bant), ...aging }, event.at, config);
      }),

      decayScore: assign(({ context, event }) => derive(context, event.at, config)),

      handOffToSales: enqueueActions(
        ({ context, event, enqueue }, { escalation }: { escalation: boolean }) => {
          // An imported MQL was handed to sales in the other tool already: no second handoff, no SLA.
          if (event.type === 'lead.imported') return;
          enqueue.assign({ sales: { ...context.sales, slaStartedAt: event.at, escalated: escalation } });
          enqueue.emit({
            type: 'sales.handoff',
            slaDeadline: event.at + config.salesSlaHours * HOUR_MS,
            escalation,
            score: context.score,
            temperature: context.temperature,
            buyingStage: context.buyingStage,
            at: event.at,
          });
        },
      ),

      /** A contact from another tool: its facts and dates as the file gives them, quiet until its ramp slot. */
      importContact: assign(({ context, event }) => {
        assertEvent(event, 'lead.imported');
        const { at } = event;
        const createdAt = Math.min(event.createdAt ?? at, at);
        const stageEnteredAt = Math.min(Math.max(event.stageEnteredAt ?? createdAt, createdAt), at);
        const lastEmailAt = event.lastEmailAt === undefined ? null : Math.min(event.lastEmailAt, at);
        return derive(
          {
            ...context,
            createdAt,
            stageEnteredAt,
            profile: { ...context.profile, ...event.profile },
            sales: { ...context.sales, owner: event.owner ?? null },
            nurture: {
              ...context.nurture,
              sentAt:
                lastEmailAt === null ? context.nurture.sentAt : [...context.nurture.sentAt, lastEmailAt],
              lastSentAt: lastEmailAt ?? context.nurture.lastSentAt,
              quietUntil: rampSlotOf(context.leadKey, at, config.importRampDays),
            },
            ...(event.stage === 'customer' && lastEmailAt !== null
              ? { newsletter: { subscribedAt: null, lastSentAt: lastEmailAt } }
              : {}),
            // The stale clock of an imported SQL or opportunity starts at the import: no reminders for the past.
            ...(context.aging ? { aging: { ...context.aging, salesActivityAt: at } } : {}),
            // The other tool's first touch: the lead's first and last, unless a visit gave one already.
            ...(event.touch
              ? {
                  touches: {
                    first: context.touches?.first ?? event.touch,
                    last: context.touches?.last ?? event.touch,
                  },
                }
              : {}),
            imported: {
              tool: event.tool,
              at,
              score: event.score ?? null,
              properties: event.properties ?? {},
            },
          },
          at,
          config,
        );
      }),

      assignOwner: assign(({ event }) => {
        assertEvent(event, 'sales.accepted');
        return { sales: { owner: event.owner, slaStartedAt: null, escalated: false } };
      }),

      recordDeal: assign(({ event }) => {
        assertEvent(event, ['proposal.sent', 'deal.won']);
        return event.amount === undefined ? {} : { deal: { amount: event.amount } };
      }),

      /** Re-nurture starts afresh: behaviour before a premature offer must not requalify the lead by itself. */
      startCooldown: assign(({ context, event }) =>
        derive(
          {
            ...context,
            recycle: { reason: reasonOf(event) ?? 'recycled', since: event.at },
            sales: { owner: null, slaStartedAt: null, escalated: false },
            engagement: { ...NO_ENGAGEMENT(event.at), furthestContentStage: null },
          },
          event.at,
          config,
        ),
      ),

      endCooldown: assign({ recycle: null }),

      /** A lost lead that comes back is open again: no loss, no owner, no deal until sales says so. */
      reopenLead: assign({
        closed: null,
        sales: { owner: null, slaStartedAt: null, escalated: false },
        deal: { amount: null },
      }),

      /** An SQL or opportunity sales left untouched: its owner is reminded once, and it is flagged stale. */
      remindStale: enqueueActions(({ context, event, enqueue }) => {
        const last = lastSalesActivityAt(context) ?? event.at;
        enqueue.emit({
          type: 'sales.stale_reminder',
          owner: context.sales.owner,
          stage: context.stage ?? 'sql',
          lastSalesActivityAt: last,
          quietDays: Math.floor((event.at - last) / (24 * HOUR_MS)),
          at: event.at,
        });
        const aging = { ...context.aging, remindedAt: event.at } as NonNullable<LeadContext['aging']>;
        enqueue.assign({ aging, stale: isStale({ ...context, aging }) });
      }),

      closeLead: assign(({ context, event }) => {
        const { reason, note } = closingOf(event, context);
        return { closed: { reason: reason ?? event.type, note, at: event.at } };
      }),

      sendContent: enqueueActions(
        ({ context, event, enqueue }, { kind }: { kind: 'nurture' | 'newsletter' }) => {
          const { family, item } = nextContent(context, kind, config);
          if (!item) return; // unreachable behind the hasUnsentContent guard
          const windowStart = event.at - config.emailCap.windowDays * 24 * HOUR_MS;
          enqueue.emit({
            type: 'content.send',
            kind,
            family,
            buyingStage: context.buyingStage,
            item,
            at: event.at,
          });
          enqueue.assign({
            nurture: {
              sentAt: [...context.nurture.sentAt.filter((t) => t > windowStart), event.at],
              sentIds: [...context.nurture.sentIds, item.id],
              lastSentAt: event.at,
            },
          });
          if (rules.newsletterSubscription && kind === 'newsletter') {
            enqueue.assign({
              newsletter: { subscribedAt: context.newsletter?.subscribedAt ?? null, lastSentAt: event.at },
            });
          }
        },
      ),

      /** A newsletter form subscribes the lead (newsletter-subscription rule); consent still decides what it gets. */
      subscribeNewsletter: assign(({ context, event }) => {
        if (!rules.newsletterSubscription || event.type !== 'form.submitted' || event.form !== 'newsletter')
          return {};
        if (context.newsletter?.subscribedAt != null) return {};
        return { newsletter: { subscribedAt: event.at, lastSentAt: context.newsletter?.lastSentAt ?? null } };
      }),

      /** Both records were the same person: the survivor keeps what it knows and gains the rest. */
      absorbFacts: assign(({ context, event }) => {
        assertEvent(event, 'lead.absorbed');
        const { facts } = event;
        const engagement = decayTo(context.engagement, event.at, config);
        const windowStart = event.at - config.emailCap.windowDays * 24 * HOUR_MS;
        const sentAt = [...context.nurture.sentAt, ...facts.sentAt]
          .filter((t) => t > windowStart)
          .sort((a, b) => a - b);
        return derive(
          {
            ...context,
            profile: { ...facts.profile, ...context.profile },
            bant: fillBant(context.bant, {
              budget: null,
              authority: null,
              need: null,
              timelineMonths: null,
              ...facts.bant,
            }),
            engagement: {
              ...engagement,
              points: engagement.points + facts.engagementPoints,
              furthestContentStage: furthestStage(
                engagement.furthestContentStage,
                facts.furthestContentStage,
              ),
            },
            consent: { ...context.consent, doNotContact: context.consent.doNotContact || facts.doNotContact },
            nurture: {
              sentAt,
              sentIds: [...new Set([...context.nurture.sentIds, ...facts.sentIds])],
              lastSentAt: latest([context.nurture.lastSentAt, ...facts.sentAt]),
            },
            absorbed: [...context.absorbed, event.from],
            // A timeline taken from the merged record keeps its date (or counts from the merge).
            ...(rules.timeAges && context.bant.timelineMonths === null && facts.bant.timelineMonths != null
              ? {
                  aging: {
                    ...noteActivity(context, event),
                    timelineGivenAt: facts.timelineGivenAt ?? event.at,
                  },
                }
              : {}),
          },
          event.at,
          config,
        );
      }),

      recordMerge: assign(({ event }) => {
        assertEvent(event, 'lead.merged');
        return { mergedInto: event.into, closed: { reason: 'merged', note: event.into, at: event.at } };
      }),

      /** `consent` is the region's state after the change. */
      recordConsent: enqueueActions(({ context, event, enqueue }, { consent }: { consent: ConsentState }) => {
        const doNotContact =
          event.type === 'consent.unsubscribed'
            ? context.consent.doNotContact || event.doNotContact
            : event.type === 'consent.subscribed'
              ? false
              : context.consent.doNotContact;
        enqueue.assign({ consent: { changedAt: event.at, doNotContact } });
        if (!rules.doNotContact) return;
        enqueue.emit({
          type: 'consent.changed',
          consent,
          doNotContact,
          source: consentSourceOf(event),
          at: event.at,
        });
        // The CRM is told once, when the person asks: a merged-in record's do-not-contact was told already.
        if (event.type === 'consent.unsubscribed' && doNotContact && !context.consent.doNotContact) {
          enqueue.emit({ type: 'sales.do_not_contact', at: event.at });
        }
      }),
    },
  }).createMachine({
    id: 'lead',
    type: 'parallel',
    // The actor behind the stepper's scope (src/machines/step.ts, one per machine) runs this factory
    // without input: answer it with a placeholder instead of a TypeError.
    context: ({ input }) => (input ? initialContext(input, config, rules.timeAges) : placeholder()),
    // Facts any stage takes in. Only events no region handles live here, so none runs twice.
    on: {
      visit: {
        actions: [
          {
            type: 'recordEngagement',
            params: ({ event }) => ({
              kind: pageKind(event.type === 'visit' ? event.page : undefined),
              contentStage: undefined,
            }),
          },
          recordTouch,
        ],
      },
      engagement: {
        actions: {
          type: 'recordEngagement',
          params: ({ event }) => ({ kind: event.kind, contentStage: event.contentStage }),
        },
      },
      'profile.updated': { actions: ['restateDoNotContact', 'updateProfile'] },
      'tick.decay': { actions: 'decayScore' },
      // Time changed what the facts mean (a timeline reached or passed, a long silence).
      'tick.cool': { actions: 'decayScore' },
      // Only the workflow's `config` update sends it; the machine it reaches is built from the new config.
      'config.changed': { actions: 'decayScore' },
    },
    states: {
      lifecycle: {
        initial: 'visitor',
        states: {
          visitor: {
            description: 'Anonymous: a site visit, a trade show, a social contact. Little is known.',
            entry: { type: 'enterStage', params: { stage: 'visitor' } },
            on: {
              ...openStage,
              ...ruledStage,
              'lead.merged': mergeAway,
              'form.submitted': [
                formByRule,
                {
                  target: 'lead',
                  actions: ['restateDoNotContact', formEngagement, recordTouch, 'subscribeNewsletter'],
                },
              ],
              disqualify: { target: 'disqualified' },
              'lead.imported': IMPORTED_STAGES.map((stage) => ({
                guard: { type: 'importedAs', params: { stage } },
                target: stage,
                actions: 'importContact',
              })),
            },
          },
          lead: {
            description: 'Identified by a form; nurtured until engagement and persona fit make it an MQL.',
            entry: { type: 'enterStage', params: { stage: 'lead' } },
            always: [
              { guard: and([mqlBar, fit, 'contactAllowed', 'clearsProfileRules']), target: 'mql' },
              ...handRaise,
            ],
            on: {
              ...qualifyingStage,
              ...ruledStage,
              ...salesOverride,
              'lead.merged': mergeAway,
              'tick.nurture': nurtureTick,
              disqualify: { target: 'disqualified' },
            },
          },
          mql: {
            description: 'Marketing qualified: handed to sales, who must accept within the SLA.',
            entry: [
              { type: 'enterStage', params: { stage: 'mql' } },
              { type: 'handOffToSales', params: { escalation: false } },
            ],
            on: {
              ...qualifyingStage,
              ...ruledStage,
              'lead.merged': mergeAway,
              'tick.nurture': nurtureTick,
              'sales.accepted': {
                guard: and(['bantComplete', 'contactAllowed']),
                target: 'sql',
                actions: 'assignOwner',
              },
              'sales.rejected': { target: 'recycled' },
              'sla.expired': [
                {
                  guard: and(['slaElapsed', not('slaEscalated'), 'contactAllowed']),
                  actions: { type: 'handOffToSales', params: { escalation: true } },
                },
                { guard: 'slaElapsed', target: 'recycled' },
              ],
              disqualify: { target: 'disqualified' },
            },
          },
          sql: {
            description: 'Sales qualified: BANT validated and sales owns the lead.',
            entry: { type: 'enterStage', params: { stage: 'sql' } },
            on: {
              ...qualifyingStage,
              ...salesOwnedStage,
              'proposal.sent': { target: 'opportunity', actions: 'recordDeal' },
              'tick.stale': { guard: 'salesQuiet', actions: 'remindStale' },
              'sales.rejected': { target: 'recycled' },
              disqualify: { target: 'disqualified' },
            },
          },
          opportunity: {
            description: 'A commercial proposal is out.',
            entry: { type: 'enterStage', params: { stage: 'opportunity' } },
            on: {
              ...qualifyingStage,
              ...salesOwnedStage,
              'deal.won': { target: 'customer', actions: 'recordDeal' },
              'tick.stale': { guard: 'salesQuiet', actions: 'remindStale' },
              'deal.lost': [
                // A proposal that came too early sends the prospect back to nurture (docs/domain.md: "Re-nurture").
                { guard: { type: 'dealLostFor', params: { reason: 'timing' } }, target: 'recycled' },
                { target: 'lost' },
              ],
            },
          },
          customer: {
            description:
              'Bought. Gets only the newsletter (a subscriber, with the newsletter-subscription rule).',
            entry: { type: 'enterStage', params: { stage: 'customer' } },
            on: {
              ...openStage,
              'tick.nurture': newsletter,
            },
          },
          recycled: {
            description:
              'Re-nurture after a premature offer, a sales rejection or an expired SLA; cools down first.',
            entry: [{ type: 'enterStage', params: { stage: 'recycled' } }, 'startCooldown'],
            exit: 'endCooldown',
            always: handRaise,
            on: {
              ...qualifyingStage,
              ...ruledStage,
              ...salesOverride,
              'lead.merged': mergeAway,
              'tick.nurture': nurtureTick,
              'cooldown.over': { guard: 'cooldownElapsed', target: 'lead' },
              disqualify: { target: 'disqualified' },
            },
          },
          disqualified: {
            description: 'Not a buyer persona: a competitor, a student, a curious visitor.',
            entry: [{ type: 'enterStage', params: { stage: 'disqualified' } }, 'closeLead'],
            on: {
              ...openStage,
              'lead.merged': mergeAway,
            },
          },
          lost: {
            description: 'The deal was lost for budget, a competitor or no need.',
            entry: [{ type: 'enterStage', params: { stage: 'lost' } }, 'closeLead'],
            ...comeBack,
            on: {
              ...openStage,
              'lead.merged': mergeAway,
            },
          },
          merged: {
            description: 'Merged into another record of the same person, which carries on.',
            entry: { type: 'enterStage', params: { stage: 'merged' } },
          },
        },
      },
      consent: {
        description: 'Marketing consent, whatever the stage: no marketing content without it.',
        initial: 'unknown',
        states: {
          unknown: {
            on: {
              'form.submitted': {
                guard: 'formGivesConsent',
                target: 'granted',
                actions: { type: 'recordConsent', params: { consent: 'granted' } },
              },
              // A merged-in record's consent carries over: an opt-in, and above all an unsubscribe.
              'lead.absorbed': [
                {
                  guard: and(['isOpen', 'notYetAbsorbed', 'absorbedWithdrawnConsent']),
                  target: 'withdrawn',
                  actions: { type: 'recordConsent', params: { consent: 'withdrawn' } },
                },
                {
                  guard: and(['isOpen', 'notYetAbsorbed', 'absorbedGrantedConsent']),
                  target: 'granted',
                  actions: { type: 'recordConsent', params: { consent: 'granted' } },
                },
              ],
              'consent.subscribed': {
                target: 'granted',
                actions: { type: 'recordConsent', params: { consent: 'granted' } },
              },
              'consent.unsubscribed': {
                target: 'withdrawn',
                actions: { type: 'recordConsent', params: { consent: 'withdrawn' } },
              },
            },
          },
          granted: {
            on: {
              'lead.absorbed': {
                guard: and(['isOpen', 'notYetAbsorbed', 'absorbedWithdrawnConsent']),
                target: 'withdrawn',
                actions: { type: 'recordConsent', params: { consent: 'withdrawn' } },
              },
              'consent.subscribed': { actions: { type: 'recordConsent', params: { consent: 'granted' } } },
              'consent.unsubscribed': {
                target: 'withdrawn',
                actions: { type: 'recordConsent', params: { consent: 'withdrawn' } },
              },
            },
          },
          withdrawn: {
            // Only an explicit resubscribe lifts an unsubscribe: a form's opt-in box does not.
            on: {
              'consent.subscribed': {
                target: 'granted',
                actions: { type: 'recordConsent', params: { consent: 'granted' } },
              },
              'consent.unsubscribed': {
                actions: { type: 'recordConsent', params: { consent: 'withdrawn' } },
              },
            },
          },
        },
      },
    },
  });
}

export type LeadMachine = ReturnType<typeof createLeadMachine>;
