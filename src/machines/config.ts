import { z } from 'zod';
import { PROFILE_RULE_ACTIONS } from './marketing-rules.js';
import { type BuyingStage, FORM_KINDS } from './vocabulary.js';

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

/**
 * What can raise a hand (docs/domain.md: "Hand-raisers"): a form kind (`contact` is the contact-sales
 * form) or an engagement kind an app reports (a demo booked in a scheduling tool).
 */
export const HAND_RAISER_KINDS = [...new Set([...FORM_KINDS, ...ENGAGEMENT_KINDS])] as [
  (typeof FORM_KINDS)[number] | EngagementKind,
  ...Array<(typeof FORM_KINDS)[number] | EngagementKind>,
];
export const HandRaiserKindSchema = z.enum(HAND_RAISER_KINDS);
export type HandRaiserKind = z.infer<typeof HandRaiserKindSchema>;

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

/** A domain such as `rival.com`, compared lower-cased; it covers its subdomains too. */
const DomainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .transform((d) => d.replace(/^@/, ''))
  .pipe(
    z
      .string()
      .regex(/^(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9-]{2,}$/, 'must be a domain such as rival.com'),
  );

const ProfileRuleActionSchema = z.enum(PROFILE_RULE_ACTIONS);

/** A bare list is taken as the rule's `key` list with its default action: `"competitorDomains": ["rival.com"]`. */
const listShorthand = (key: string) => (value: unknown) => (Array.isArray(value) ? { [key]: value } : value);

/** A domain rule: addresses at these domains (or their subdomains), and what a match does. */
const domainRule = (domains: string[], action: (typeof PROFILE_RULE_ACTIONS)[number]) =>
  z.preprocess(
    listShorthand('domains'),
    z
      .object({
        domains: z.array(DomainSchema).max(10_000).default(domains),
        action: ProfileRuleActionSchema.default(action),
      })
      .strict()
      .prefault({}),
  );

/**
 * Consumer mailboxes: a short list of the big ones (and the French ones the source articles' readers
 * use). A team adds its market's own.
 */
export const DEFAULT_FREE_MAIL_DOMAINS = [
  'gmail.com',
  'googlemail.com',
  'yahoo.com',
  'hotmail.com',
  'outlook.com',
  'live.com',
  'msn.com',
  'aol.com',
  'icloud.com',
  'me.com',
  'proton.me',
  'protonmail.com',
  'gmx.com',
  'gmx.de',
  'web.de',
  'yandex.ru',
  'mail.ru',
  'orange.fr',
  'free.fr',
  'laposte.net',
];

/**
 * Profiles that marketing-ops keep out of the funnel (README, "Configuration"), tried when a profile
 * becomes known: a form, a profile update, a merged-in record.
 * - `competitorDomains` (default none: every company has its own rivals): `disqualify` closes the lead
 *   as `competitor` from visitor, lead, MQL or recycled, so a rival is never handed to sales.
 * - `disqualifyingJobFunctions` (default none: the default personas already keep a student from MQL,
 *   and closing leads by default would end the nurture teams run today): `disqualify` with the reason
 *   `student` or `job_seeker` when the job function is one, else `not_a_persona`.
 * - `freeMailDomains` (default the big consumer mailboxes, `never_mql`): a free-mail address is weak
 *   evidence, not proof. A consultant or a buyer writing from home may still buy, so the lead stays
 *   nurtured, but it is not made an MQL nor handed to sales on marketing's score alone.
 */
const ProfileRulesSchema = z
  .object({
    competitorDomains: domainRule([], 'disqualify'),
    disqualifyingJobFunctions: z.preprocess(
      listShorthand('jobFunctions'),
      z
        .object({
          jobFunctions: z.array(z.string().trim().toLowerCase().min(1).max(100)).max(10_000).default([]),
          action: ProfileRuleActionSchema.default('disqualify'),
        })
        .strict()
        .prefault({}),
    ),
    freeMailDomains: domainRule(DEFAULT_FREE_MAIL_DOMAINS, 'never_mql'),
  })
  .strict();

/**
 * A page pattern: a path from `/`, with `*` for any run of characters (`/pricing*`, `/de/pricing*`),
 * matched case-insensitively against the visit's path without its query string or fragment.
 */
const PagePatternSchema = z
  .string()
  .trim()
  .min(1)
  .max(500)
  .regex(/^\//, 'must be a path starting with / (for example /pricing*)')
  .regex(/^[^?#\s]*$/, 'must be a path without a query string, fragment or spaces; * is the only wildcard');

export const PageRuleSchema = z.object({ pattern: PagePatternSchema, kind: EngagementKindSchema }).strict();
export type PageRule = z.infer<typeof PageRuleSchema>;

/** The pricing page is the decision signal the points table already prices; careers pages are job seekers. */
const DEFAULT_PAGE_RULES: PageRule[] = [
  { pattern: '/pricing*', kind: 'pricing_page' },
  { pattern: '/careers*', kind: 'careers_page' },
];

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
     * Imported contacts are not mailed at import: each one's first send waits for its own slot in this
     * many days after the import (spread by its lead key), and for its cadence after the last email
     * the other tool sent it. A 10,000-contact import does not become 10,000 emails in a minute.
     */
    importRampDays: days.default(14),
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
    /**
     * Hand-raisers: a persona-fit lead that asks for sales (a demo, a quote, the contact-sales form)
     * is an MQL and handed off at once, whatever its score: "the SQL is the lead who contacted sales".
     */
    handRaisers: z.array(HandRaiserKindSchema).default(['demo_request', 'quote_request', 'contact']),
    /**
     * A lost lead's quiet period: new buying signals after it (a hand-raiser, or engagement that brings
     * the score to the MQL threshold) bring it back to nurture; before it, a lost deal stays lost.
     */
    lostReturnAfterDays: days.default(180),
    /** A timeline further out than this is not a validated BANT timeline (medium/long-term intent). */
    bantMaxTimelineMonths: z.number().int().nonnegative().default(6),
    /**
     * Time cools a lead (docs/domain.md: "Temperature"): with no engagement and no sales activity for
     * this many days, a hot lead turns cold. Two months of silence is no short-term intent.
     */
    coolAfterSilentDays: days.default(60),
    /**
     * An SQL or opportunity with no sales activity for this many days is stale: the owner is reminded
     * once through the CRM, and the lead is flagged (`LeadStale`). Two weeks: a sales cadence.
     */
    staleAfterDays: days.default(14),
    personas: z.array(PersonaSchema).min(1).default(DEFAULT_PERSONAS),
    /** Competitor and free-mail domains, disqualifying job functions: see ProfileRulesSchema. */
    profileRules: ProfileRulesSchema.prefault({}),
    /**
     * A visit to a page that matches scores as that kind instead of a page view; the first match wins.
     * Defaults: `/pricing*` is the pricing page, `/careers*` a careers page.
     */
    pageRules: z.array(PageRuleSchema).max(1_000).default(DEFAULT_PAGE_RULES),
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
