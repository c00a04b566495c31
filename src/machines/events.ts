import { z } from 'zod';
import { EngagementKindSchema } from './config.js';
import { ChannelSchema, TouchSchema } from './touch.js';
import { BuyingStageSchema, ConsentSourceSchema, ConsentStateSchema, FormKindSchema } from './vocabulary.js';

/**
 * One zod schema per event the machine accepts. Apps send the *commands* (the same shapes without
 * `at`); the workflow stamps `at` with its own deterministic clock, so the machine never reads a clock.
 */
const at = z.number().int().nonnegative().describe('When it happened, epoch milliseconds');

/** Emails compare case- and whitespace-insensitively: the same person is one lead. */
export const EmailSchema = z.string().trim().toLowerCase().pipe(z.email());

export const ProfileSchema = z
  .object({
    email: EmailSchema.optional(),
    firstName: z.string().trim().min(1).max(200).optional(),
    lastName: z.string().trim().min(1).max(200).optional(),
    company: z.string().trim().min(1).max(200).optional(),
    /** Employees. */
    companySize: z.number().int().nonnegative().optional(),
    annualRevenue: z.number().nonnegative().optional(),
    sector: z.string().trim().toLowerCase().min(1).max(100).optional(),
    jobFunction: z.string().trim().toLowerCase().min(1).max(100).optional(),
    jobTitle: z.string().trim().min(1).max(200).optional(),
    country: z.string().trim().min(2).max(100).optional(),
  })
  .strict();
export type Profile = z.infer<typeof ProfileSchema>;

export const BantSchema = z
  .object({
    budget: z
      .boolean()
      .nullable()
      .optional()
      .describe('Budget confirmed (true), absent (false), unknown (null)'),
    authority: z.boolean().nullable().optional().describe('Talking to the decision maker'),
    need: z.boolean().nullable().optional().describe('A need is identified'),
    timelineMonths: z
      .number()
      .int()
      .nonnegative()
      .nullable()
      .optional()
      .describe('Months until the purchase decision; null when unknown'),
  })
  .strict();
export type BantUpdate = z.infer<typeof BantSchema>;

export const DISQUALIFY_REASONS = [
  'competitor',
  'not_a_persona',
  'student',
  'job_seeker',
  'spam',
  'other',
] as const;
export const SALES_REJECTION_REASONS = [
  'not_ready',
  'no_budget',
  'no_authority',
  'bad_timing',
  'other',
] as const;
/** timing sends the lead back to nurture (a premature offer, docs/domain.md: "Re-nurture"); the rest close the deal as lost. */
export const DEAL_LOSS_REASONS = ['timing', 'budget', 'competitor', 'no_need', 'other'] as const;

const note = z.string().trim().max(2000).optional();

export const VisitSchema = z
  .object({
    type: z.literal('visit'),
    at,
    page: z.string().max(2000).optional(),
    channel: ChannelSchema.default('web'),
    /** Where the visit came from (campaign, UTM): the lead's last touch, and its first when it has none. */
    touch: TouchSchema.optional(),
  })
  .strict();

export const FormSubmittedSchema = z
  .object({
    type: z.literal('form.submitted'),
    at,
    form: FormKindSchema,
    profile: ProfileSchema.extend({ email: EmailSchema }),
    /** Explicit marketing opt-in ticked on the form. Never assumed. */
    consent: z.boolean().default(false),
    /** Buying stage of the content behind the form (a content download), when known. */
    contentStage: BuyingStageSchema.optional(),
    /** Where the capture came from (source, campaign, form, UTM): the lead's last touch, and its first when it has none. */
    touch: TouchSchema.optional(),
  })
  .strict();

export const EngagementSchema = z
  .object({
    type: z.literal('engagement'),
    at,
    kind: EngagementKindSchema,
    /** Buying stage of the content engaged with, when known: moves the lead's buying stage. */
    contentStage: BuyingStageSchema.optional(),
    contentId: z.string().max(200).optional(),
  })
  .strict();

export const ProfileUpdatedSchema = z
  .object({ type: z.literal('profile.updated'), at, profile: ProfileSchema })
  .strict();

export const BantUpdatedSchema = z.object({ type: z.literal('bant.updated'), at, bant: BantSchema }).strict();

/** Who works the lead in sales. Unencrypted search attributes show it only as an id (src/workflows/operator-view.ts). */
const OwnerSchema = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .describe(
    'The owner in sales, best as their user id in the CRM (`rep-7`): the `LeadOwner` search attribute shows an owner with a space or an `@` (a name, an address) as `sales`',
  );

export const SalesAcceptedSchema = z
  .object({ type: z.literal('sales.accepted'), at, owner: OwnerSchema })
  .strict();

export const SalesRejectedSchema = z
  .object({ type: z.literal('sales.rejected'), at, reason: z.enum(SALES_REJECTION_REASONS), note })
  .strict();

export const ProposalSentSchema = z
  .object({ type: z.literal('proposal.sent'), at, amount: z.number().nonnegative().optional() })
  .strict();

export const DealWonSchema = z
  .object({ type: z.literal('deal.won'), at, amount: z.number().nonnegative().optional() })
  .strict();

export const DealLostSchema = z
  .object({ type: z.literal('deal.lost'), at, reason: z.enum(DEAL_LOSS_REASONS), note })
  .strict();

/** Where a consent command came from, for the proof of consent (default: `api`). */
const source = ConsentSourceSchema.optional();

export const UnsubscribedSchema = z
  .object({
    type: z.literal('consent.unsubscribed'),
    at,
    /** Do-not-contact: no contact of any kind, not only marketing email. */
    doNotContact: z.boolean().default(false),
    source,
  })
  .strict();

export const SubscribedSchema = z.object({ type: z.literal('consent.subscribed'), at, source }).strict();

export const DisqualifySchema = z
  .object({ type: z.literal('disqualify'), at, reason: z.enum(DISQUALIFY_REASONS), note })
  .strict();

/**
 * Merging two records of one person: the survivor absorbs the other's facts, then the other closes
 * as `merged`. The client's `merge` sends both; `from` makes a repeated absorb refusable.
 */
export const LeadAbsorbedSchema = z
  .object({
    type: z.literal('lead.absorbed'),
    at,
    from: z.string().min(1).max(500).describe('Lead key of the lead being merged in'),
    facts: z
      .object({
        profile: ProfileSchema,
        bant: BantSchema,
        engagementPoints: z.number().finite(),
        furthestContentStage: BuyingStageSchema.nullable(),
        consent: ConsentStateSchema,
        doNotContact: z.boolean(),
        sentIds: z.array(z.string().max(200)).max(10_000),
        sentAt: z.array(z.number().int().nonnegative()).max(10_000),
        /** When the merged lead's BANT timeline was given (leads that age time; else counted from the merge). */
        timelineGivenAt: z.number().int().nonnegative().nullable().optional(),
      })
      .strict(),
  })
  .strict();

export const LeadMergedSchema = z
  .object({
    type: z.literal('lead.merged'),
    at,
    into: z.string().min(1).max(500).describe('Lead key of the survivor'),
  })
  .strict();

/** The stages a contact can be brought in at from another tool (a closed or merged record is not imported). */
export const IMPORTED_STAGES = ['lead', 'mql', 'sql', 'opportunity', 'customer'] as const;
/** The tool a contact was imported from, for the record (`file`: any other CSV or NDJSON). */
export const IMPORT_SOURCES = ['hubspot', 'mautic', 'file'] as const;
export type ImportSource = (typeof IMPORT_SOURCES)[number];
export type ImportedStage = (typeof IMPORTED_STAGES)[number];

const pastAt = z.number().int().nonnegative();

/**
 * A contact brought in from another tool with its history: the stage, dates, score and owner that
 * tool recorded, set once on a new lead (only a `visitor` takes it). Nothing is replayed: no sales
 * handoff, no form engagement, no email at import (the first send waits for the import ramp and
 * the contact's own last email). Internal: only the `import` update takes it, never an app's command.
 */
export const LeadImportedSchema = z
  .object({
    type: z.literal('lead.imported'),
    at,
    /** The tool the contact comes from, for the record. */
    tool: z.enum(IMPORT_SOURCES),
    stage: z.enum(IMPORTED_STAGES),
    profile: ProfileSchema.extend({ email: EmailSchema }),
    /** When the other tool created the contact (not after `at`). */
    createdAt: pastAt.optional(),
    /** When it entered its stage there (not before createdAt, not after `at`). */
    stageEnteredAt: pastAt.optional(),
    /** The other tool's score, kept as it was (its scale is not leadcycle's points). */
    score: z.number().finite().optional(),
    owner: OwnerSchema.optional(),
    /** The last marketing email that tool sent the contact: the cadence counts from it. */
    lastEmailAt: pastAt.optional(),
    /** Properties leadcycle has no field for, kept as they were (names and values bounded). */
    properties: z.record(z.string().min(1).max(100), z.string().max(2000)).optional(),
    /** Where the other tool says the contact first came from: the lead's first touch (added later: optional). */
    touch: TouchSchema.optional(),
  })
  .strict();

/** Timer events: only the workflow sends these, when a deadline derived from the snapshot passes. */
export const DecayTickSchema = z.object({ type: z.literal('tick.decay'), at }).strict();
export const NurtureTickSchema = z.object({ type: z.literal('tick.nurture'), at }).strict();
export const SlaExpiredSchema = z.object({ type: z.literal('sla.expired'), at }).strict();
export const CooldownOverSchema = z.object({ type: z.literal('cooldown.over'), at }).strict();
/** Time changed what the lead's facts mean (a BANT timeline reached or passed, a long silence): temperature is refreshed. */
export const CoolTickSchema = z.object({ type: z.literal('tick.cool'), at }).strict();
/** An SQL or opportunity went `staleAfterDays` without sales activity. */
export const StaleTickSchema = z.object({ type: z.literal('tick.stale'), at }).strict();

/**
 * A new config version reached the lead (the workflow's `config` update): the score is refreshed
 * under it and the stage rules look again, so a lowered MQL threshold takes effect at once.
 */
export const ConfigChangedSchema = z
  .object({
    type: z.literal('config.changed'),
    at,
    version: z.number().int().positive().describe('The config version the lead runs from now on'),
  })
  .strict();

export const LeadEventSchema = z.discriminatedUnion('type', [
  VisitSchema,
  FormSubmittedSchema,
  EngagementSchema,
  ProfileUpdatedSchema,
  BantUpdatedSchema,
  SalesAcceptedSchema,
  SalesRejectedSchema,
  ProposalSentSchema,
  DealWonSchema,
  DealLostSchema,
  UnsubscribedSchema,
  SubscribedSchema,
  DisqualifySchema,
  LeadAbsorbedSchema,
  LeadMergedSchema,
  LeadImportedSchema,
  DecayTickSchema,
  NurtureTickSchema,
  SlaExpiredSchema,
  CooldownOverSchema,
  CoolTickSchema,
  StaleTickSchema,
  ConfigChangedSchema,
]);
export type LeadEvent = z.infer<typeof LeadEventSchema>;
export type LeadEventInput = z.input<typeof LeadEventSchema>;
export type LeadEventType = LeadEvent['type'];
export type EventOf<T extends LeadEventType> = Extract<LeadEvent, { type: T }>;

export const TIMER_EVENT_TYPES = [
  'tick.decay',
  'tick.nurture',
  'sla.expired',
  'cooldown.over',
  'tick.cool',
  'tick.stale',
] as const;
export type TimerEventType = (typeof TIMER_EVENT_TYPES)[number];

/**
 * Commands: what apps send. The same schemas as the events, without `at` (the workflow stamps its
 * own clock) and without the timer events, which only the workflow's timers produce.
 */
const noAt = { at: true } as const;

/** What sales sends, from a CRM or by hand: qualification, acceptance, the deal, disqualification. */
export const SalesCommandSchema = z.discriminatedUnion('type', [
  BantUpdatedSchema.omit(noAt),
  SalesAcceptedSchema.omit(noAt),
  SalesRejectedSchema.omit(noAt),
  ProposalSentSchema.omit(noAt),
  DealWonSchema.omit(noAt),
  DealLostSchema.omit(noAt),
  DisqualifySchema.omit(noAt),
]);
export type SalesCommand = z.infer<typeof SalesCommandSchema>;

/**
 * Sales activity, defined once: any sales command the lead takes (qualification, acceptance,
 * rejection, the proposal, the deal, disqualification). It keeps an SQL or opportunity fresh and a
 * lead warm (src/machines/aging.ts).
 */
export const SALES_ACTIVITY_TYPES: ReadonlySet<string> = new Set(
  SalesCommandSchema.options.map((option) => option.shape.type.value),
);
export const isSalesActivity = (event: { type: string }): boolean => SALES_ACTIVITY_TYPES.has(event.type);

export const LeadCommandSchema = z.discriminatedUnion('type', [
  VisitSchema.omit(noAt),
  FormSubmittedSchema.omit(noAt),
  EngagementSchema.omit(noAt),
  ProfileUpdatedSchema.omit(noAt),
  ...SalesCommandSchema.options,
  UnsubscribedSchema.omit(noAt),
  SubscribedSchema.omit(noAt),
]);
export type LeadCommand = z.infer<typeof LeadCommandSchema>;
export type LeadCommandInput = z.input<typeof LeadCommandSchema>;

/**
 * The merge's own two events: internal, sent only by the client's `merge` through the workflow's
 * `merge` update, never accepted as an app's command (a forged absorb could grant consent and points).
 */
export const MergeCommandSchema = z.discriminatedUnion('type', [
  LeadAbsorbedSchema.omit(noAt),
  LeadMergedSchema.omit(noAt),
]);
export type MergeCommand = z.infer<typeof MergeCommandSchema>;

/**
 * The `import` update's command (src/import/): a contact with its history from another tool. Dates
 * later than the workflow's clock are kept at its clock by the machine.
 */
export const ImportCommandSchema = LeadImportedSchema.omit(noAt).refine(
  (c) => c.createdAt === undefined || c.stageEnteredAt === undefined || c.stageEnteredAt >= c.createdAt,
  { path: ['stageEnteredAt'], message: 'a contact cannot enter its stage before it was created' },
);
export type ImportCommand = z.infer<typeof ImportCommandSchema>;
export type ImportCommandInput = z.input<typeof ImportCommandSchema>;

/**
 * What the `command` update's handler applies: the public commands, and the merge's events that
 * runs recorded before the `merge` update sent through it. The update's validator, which runs on
 * every new update (and never on replay), accepts the public commands only.
 */
export const RecordedCommandSchema = z.discriminatedUnion('type', [
  ...LeadCommandSchema.options,
  ...MergeCommandSchema.options,
]);

/** High-volume facts that need no answer: apps may send them as signals. */
export const LeadFactSchema = z.discriminatedUnion('type', [
  VisitSchema.omit(noAt),
  EngagementSchema.omit(noAt),
  ProfileUpdatedSchema.omit(noAt),
]);
export type LeadFact = z.infer<typeof LeadFactSchema>;
