import { z } from 'zod';
import type { BuyingStage } from './vocabulary.js';

export const CONTENT_FAMILY_FOR_STAGE = {
  awareness: 'discovery',
  consideration: 'evaluation',
  decision: 'decision',
} as const satisfies Record<BuyingStage, string>;
export type ContentFamily = (typeof CONTENT_FAMILY_FOR_STAGE)[BuyingStage] | 'newsletter';

/** Every kind of engagement an app can report. Points per kind live in the config. */
export const ENGAGEMENT_KINDS = [
  'page_view',
  'pricing_page',
  'email_open',
  'email_click',
  'content_download',
  'premium_content',
  'webinar_registered',
  'webinar_attended',
  'demo_request',
  'quote_request',
  'info_request',
  'newsletter_signup',
  'careers_page',
  'email_bounce',
] as const;
export const EngagementKindSchema = z.enum(ENGAGEMENT_KINDS);
export type EngagementKind = z.infer<typeof EngagementKindSchema>;

const RangeSchema = z
  .object({ min: z.number().nonnegative().optional(), max: z.number().nonnegative().optional() })
  .strict()
  .refine((r) => r.min === undefined || r.max === undefined || r.min <= r.max, {
    message: 'min must not exceed max',
  });

export const PersonaSchema = z
  .object({
    id: z.string().min(1),
    name: z.string().min(1),
    /** Employees. */
    companySize: RangeSchema.optional(),
    /** Annual revenue, in the currency the profile uses. */
    annualRevenue: RangeSchema.optional(),
    sectors: z.array(z.string().min(1)).min(1).optional(),
    jobFunctions: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict()
  .refine((p) => p.companySize || p.annualRevenue || p.sectors || p.jobFunctions, {
    message: 'a persona needs at least one criterion (companySize, annualRevenue, sectors or jobFunctions)',
  });
export type Persona = z.infer<typeof PersonaSchema>;

export const ContentItemSchema = z
  .object({
    id: z.string().min(1),
    title: z.string().min(1),
    url: z.url(),
  })
  .strict();
export type ContentItem = z.infer<typeof ContentItemSchema>;

const DEFAULT_POINTS: Record<EngagementKind, number> = {
  page_view: 1,
  pricing_page: 10,
  email_open: 1,
  email_click: 3,
  content_download: 5,
  premium_content: 10,
  webinar_registered: 10,
  webinar_attended: 15,
  demo_request: 30,
  quote_request: 30,
  info_request: 10,
  newsletter_signup: 2,
  // Negative signals: job seekers and dead addresses are not buyers.
  careers_page: -10,
  email_bounce: -15,
};

const DEFAULT_PERSONAS: Persona[] = [
  {
    id: 'it-decision-maker',
    name: 'IT decision maker in a mid-size company',
    companySize: { min: 50, max: 5000 },
    sectors: ['software', 'manufacturing', 'finance', 'retail', 'healthcare', 'services'],
    jobFunctions: ['it', 'engineering', 'operations'],
  },
  {
    id: 'marketing-leader',
    name: 'Marketing leader',
    companySize: { min: 20 },
    jobFunctions: ['marketing', 'sales', 'executive'],
  },
];

const example = (family: string, n: number): ContentItem => ({
  id: `${family}-${n}`,
  title: `${family[0]?.toUpperCase()}${family.slice(1)} guide #${n}`,
  url: `https://example.com/content/${family}-${n}`,
});

const DEFAULT_CONTENT = {
  discovery: [1, 2, 3, 4, 5, 6].map((n) => example('discovery', n)),
  evaluation: [1, 2, 3, 4, 5, 6].map((n) => example('evaluation', n)),
  decision: [1, 2, 3, 4].map((n) => example('decision', n)),
  // Two years of monthly issues: a customer or a subscriber reads a year of newsletters at the default
  // cadence and more, and a new issue added to the config reaches them when it is out. Leads run
  // without the newsletter-subscription rule keep the first 12 (PRE_SUBSCRIPTION_NEWSLETTER_ISSUES).
  newsletter: Array.from({ length: 24 }, (_, i) => example('newsletter', i + 1)),
};

/**
 * How many default newsletter issues a lead run without the newsletter-subscription rule sees: the
 * default catalog it was recorded with. A changed default must not change old leads (one that read
 * issue 12 would otherwise schedule another newsletter).
 */
export const PRE_SUBSCRIPTION_NEWSLETTER_ISSUES = 12;

const positive = z.number().positive();

export const DAY_MS = 24 * 60 * 60 * 1000;
export const HOUR_MS = 60 * 60 * 1000;

/**
 * The shortest timer any config may set: one second. Fast-clock demos (src/demo.ts) count in
 * seconds; below that a lead's timers would fire faster than its workflow (or a backtest) runs them.
 * Backtests ask for more (src/analytics/params.ts).
 */
export const MIN_TIMER_MS = 1_000;

/** A duration in `unit` (days or hours), at least MIN_TIMER_MS: the error names the minimum. */
const timerSetting = (unit: 'days' | 'hours') => {
  const min = MIN_TIMER_MS / (unit === 'days' ? DAY_MS : HOUR_MS);
  return z.number().min(min, `must be at least 1 second (${min.toPrecision(3)} ${unit})`);
};
const days = timerSetting('days');
const hours = timerSetting('hours');

/**
 * Everything a marketing-ops team tunes. Every field has a default, so `{}` is a valid config.
 * Durations are in the unit their name says; the machine converts to milliseconds.
 */
export const LeadcycleConfigSchema = z
  .object({
    /** Engagement score at which a persona-fit lead becomes an MQL. */
    mqlThreshold: z.number().default(50),
    /** Best persona match (0-100) a lead needs to count as fitting a buyer persona. */
    personaFitThreshold: z.number().min(0).max(100).default(75),
    points: z
      .partialRecord(EngagementKindSchema, z.number())
      .default({})
      .transform((p) => ({ ...DEFAULT_POINTS, ...p })),
    /** Engagement points lose half their value after this many days without new engagement. */
    decayHalfLifeDays: positive.default(30),
    /** How often the workflow refreshes the decayed score (for search attributes and temperature). */
    decayTickDays: days.default(7),
    /** "3 mailings a month are enough" (docs/domain.md: "Nurture rules"): a hard cap over a rolling window. */
    emailCap: z
      .object({ max: z.number().int().positive().default(3), windowDays: days.default(30) })
      .strict()
      .default({ max: 3, windowDays: 30 }),
    /** Days between two nurture emails, when the cap allows. */
    nurtureCadenceDays: days.default(7),
    /** Days between two newsletters to a subscriber (customers are subscribers), inside the same email cap. */
    newsletterCadenceDays: days.default(30),
    /**
     * What a nurtured lead gets once every item of its buying stage's family was sent: `newsletter`
     * (default) keeps it hearing from marketing at the newsletter's slower pace instead of falling
     * silent until someone writes new content; `wait` sends nothing until the catalog has a new item.
     * Either way a new item in the family resumes nurture.
     */
    whenContentRunsOut: z.enum(['newsletter', 'wait']).default('newsletter'),
    /** Sales must accept an MQL within this many hours; then escalate once; then back to nurture. */
    salesSlaHours: hours.default(48),
    /** Re-nurture cooldown after a premature offer, a sales rejection or an SLA that ran out twice. */
    renurtureCooldownDays: days.default(90),
    /** A timeline further out than this is not a validated BANT timeline (medium/long-term intent). */
    bantMaxTimelineMonths: z.number().int().nonnegative().default(6),
    personas: z.array(PersonaSchema).min(1).default(DEFAULT_PERSONAS),
    content: z
      .object({
        discovery: z.array(ContentItemSchema),
        evaluation: z.array(ContentItemSchema),
        decision: z.array(ContentItemSchema),
        newsletter: z.array(ContentItemSchema),
      })
      .strict()
      .default(DEFAULT_CONTENT),
  })
  .strict();

export type LeadcycleConfigInput = z.input<typeof LeadcycleConfigSchema>;
export type LeadcycleConfig = z.output<typeof LeadcycleConfigSchema>;

export const DEFAULT_CONFIG: LeadcycleConfig = LeadcycleConfigSchema.parse({});
