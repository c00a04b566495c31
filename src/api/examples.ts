/**
 * Examples of the API's request bodies and answers, for the OpenAPI document. Typed by their own
 * schema (a request's input, an answer's output), so an example that no longer fits fails the
 * type check; Redocly checks them against the document's schemas too (redocly.yaml). One lead,
 * Ada of acme, runs through them all.
 */
import type { z } from 'zod';
import {
  ConfigApplySchema,
  ConfigRollbackSchema,
  ConfigStatusSchema,
  RolloutResultSchema,
} from './config.js';
import { ImportJobSchema, ImportRequestSchema } from './imports.js';
import {
  ConsentHistorySchema,
  ForgetReportSchema,
  PersonExportSchema,
  PersonRequestSchema,
} from './privacy.js';
import {
  AttributionReportSchema,
  BacktestJobSchema,
  BacktestReportSchema,
  BacktestRequestSchema,
  CohortFunnelReportSchema,
  CohortReportSchema,
  ConversionReportSchema,
  EmailReportSchema,
  FlowReportSchema,
  ForecastReportSchema,
  SlaReportSchema,
  StageCountsReportSchema,
  VelocityReportSchema,
} from './report-schemas.js';
import {
  AcceptedSchema,
  apiSchemas,
  CrmWebhookSchema,
  FactRequestSchema,
  FormWebhookSchema,
  HealthSchema,
  LeadListSchema,
  LeadViewSchema,
  LookupRequestSchema,
  ProblemTypeListSchema,
  ProblemTypeSchema,
  ReadySchema,
  TimelineSchema,
  VendorWebhookAckSchema,
  WebhookAckSchema,
} from './schemas.js';
import { SimulationRequestSchema, SimulationResultSchema } from './simulations.js';
import { HubSpotBodySchema } from './vendors/hubspot.js';
import { MauticBodySchema } from './vendors/mautic.js';
import { TypeformBodySchema } from './vendors/typeform.js';

/** Adds `examples` to a schema's OpenAPI metadata, keeping the rest (its component name first). */
function withExamples(schema: z.ZodType, examples: unknown[]): void {
  // The registry's own entry, without what the global registry adds to it (src/api/schemas.ts).
  const own = WeakMap.prototype.get.call(apiSchemas._map, schema) as Record<string, unknown> | undefined;
  apiSchemas.remove(schema);
  apiSchemas.add(schema, { ...own, examples });
}
const request = <S extends z.ZodType>(schema: S, ...examples: z.input<S>[]) => withExamples(schema, examples);
const answer = <S extends z.ZodType>(schema: S, ...examples: z.output<S>[]) => withExamples(schema, examples);

const ADA = { tenant: 'acme', email: 'ada@acme.example' };
const LEAD_ID = 'lead-3f9a2c4e8b1d47f6a0c5e9b2d7f14a68';
const LEAD_KEY = 'acme:email:ada@acme.example';
const PROFILE = {
  email: 'ada@acme.example',
  companySize: 250,
  sector: 'software',
  jobFunction: 'it',
} as const;
const DAY = 86_400_000;
const AS_OF = Date.UTC(2026, 2, 31);
/** Answers give times as ISO 8601 strings. */
const iso = (ms: number) => new Date(ms).toISOString();
const FROM = AS_OF - 90 * DAY;

// Liveness and readiness.
answer(HealthSchema, { status: 'ok' });
answer(ReadySchema, { status: 'ready', temporal: 'reachable', analytics: { status: 'up' } });

// Leads.
request(FactRequestSchema, {
  lead: ADA,
  fact: { type: 'engagement', kind: 'pricing_page', contentStage: 'consideration' },
});
request(LookupRequestSchema, { lead: ADA });
answer(AcceptedSchema, { accepted: true, leadId: LEAD_ID });
answer(LeadViewSchema, {
  leadId: LEAD_ID,
  leadKey: LEAD_KEY,
  stage: 'lead',
  consent: 'granted',
  score: 10,
  fitScore: 100,
  persona: 'it-decision-maker',
  temperature: 'cold',
  buyingStage: 'awareness',
  owner: null,
  stageEnteredAt: '2026-03-02T09:15:00.000Z',
  reason: 'form.submitted',
  touches: {
    first: { form: 'content_download', source: 'google', campaign: 'spring-launch' },
    last: { channel: 'web', source: 'newsletter', utm_medium: 'email' },
  },
  next: [
    { event: 'tick.nurture', at: '2026-03-09T09:15:00.000Z' },
    { event: 'tick.decay', at: '2026-03-09T09:15:00.000Z' },
  ],
  state: {
    value: { lifecycle: 'lead', consent: 'granted' },
    context: {
      leadKey: LEAD_KEY,
      profile: PROFILE,
      bant: {},
      sales: { owner: null, slaStartedAt: null, escalated: false },
    },
  },
});
answer(TimelineSchema, {
  leadId: LEAD_ID,
  runs: 1,
  complete: true,
  entries: [
    {
      kind: 'stage',
      at: '2026-03-02T09:15:00.000Z',
      from: null,
      to: 'lead',
      cause: 'form.submitted',
      reason: null,
    },
    {
      kind: 'consent',
      at: '2026-03-02T09:15:00.000Z',
      consent: 'granted',
      doNotContact: false,
      source: 'form',
    },
    {
      kind: 'email',
      at: '2026-03-02T09:15:01.000Z',
      email: 'nurture',
      family: 'discovery',
      buyingStage: 'awareness',
      item: { id: 'discovery-1', title: 'Discovery guide #1' },
      outcome: 'sent',
    },
  ],
});
answer(LeadListSchema, {
  leads: [{ leadId: LEAD_ID, stage: 'lead', score: 10, temperature: 'cold', buyingStage: 'awareness' }],
  nextCursor: null,
});
request(PersonRequestSchema, { lead: ADA });
answer(ForgetReportSchema, {
  leads: [
    { leadId: LEAD_ID, terminated: true, runsDeleted: 1, outboxRecordsRemoved: 3, analyticsRowsRemoved: 5 },
  ],
  addressesSuppressed: 1,
});
answer(PersonExportSchema, {
  exportedAt: '2026-03-31T00:00:00.000Z',
  leads: [
    {
      leadId: LEAD_ID,
      leadKey: LEAD_KEY,
      state: { value: { lifecycle: 'lead', consent: 'granted' } },
      runs: [],
      stageChanges: [],
      consentChanges: [],
      emailOutcomes: [],
      journal: [],
      outbox: [],
    },
  ],
  suppressions: [],
});
answer(ConsentHistorySchema, {
  leadId: LEAD_ID,
  changes: [
    {
      key: `${LEAD_ID}/consent/1`,
      leadId: LEAD_ID,
      consent: 'granted',
      doNotContact: false,
      source: 'form',
      at: iso(Date.UTC(2026, 2, 2, 9, 15)),
    },
  ],
});

// Imports.
request(ImportRequestSchema, {
  format: 'csv',
  content: 'Email,First Name,Company Name,Number of Employees\nada@acme.example,Ada,Acme,250\n',
  preset: 'hubspot',
  tenant: 'acme',
});
answer(ImportJobSchema, {
  id: '8d6f2b9e-5c1a-4e7b-9f3d-2a6c8e0b4d17',
  status: 'succeeded',
  tenant: 'acme',
  format: 'csv',
  createdAt: iso(AS_OF),
  finishedAt: iso(AS_OF + 1_200),
  progress: {
    id: '8d6f2b9e-5c1a-4e7b-9f3d-2a6c8e0b4d17',
    total: 1,
    done: 1,
    imported: 1,
    rejected: 0,
    skipped: 0,
    consentGranted: 0,
    consentWithdrawn: 0,
    optInRefused: 0,
  },
  leadsPerSecond: 0.83,
  rejections: [],
  rejectionsTruncated: false,
  error: null,
});

// Webhooks.
request(FormWebhookSchema, {
  tenant: 'acme',
  email: 'ada@acme.example',
  form: 'content_download',
  consent: true,
  profile: { companySize: 250, sector: 'software', jobFunction: 'it' },
});
request(CrmWebhookSchema, { lead: ADA, command: { type: 'sales.accepted', owner: 'rep-sam' } });
answer(WebhookAckSchema, { leadId: LEAD_ID, stage: 'lead', consent: 'granted' });

// Reports.
const period = { from: iso(FROM), to: iso(AS_OF) };
const stages = {
  visitor: 40,
  lead: 25,
  mql: 8,
  sql: 4,
  opportunity: 2,
  customer: 3,
  recycled: 5,
  disqualified: 2,
  lost: 1,
  merged: 0,
};
const funnel = [
  { stage: 'visitor', leads: 90, stepRate: null, cumulativeRate: 1 },
  { stage: 'lead', leads: 50, stepRate: 0.56, cumulativeRate: 0.56 },
  { stage: 'mql', leads: 20, stepRate: 0.4, cumulativeRate: 0.22 },
  { stage: 'sql', leads: 10, stepRate: 0.5, cumulativeRate: 0.11 },
  { stage: 'opportunity', leads: 5, stepRate: 0.5, cumulativeRate: 0.06 },
  { stage: 'customer', leads: 3, stepRate: 0.6, cumulativeRate: 0.03 },
] as const;
const durations = { count: 20, medianDays: 6.5, meanDays: 8.1, p90Days: 17.2 };
answer(StageCountsReportSchema, { at: iso(AS_OF), total: 90, stages });
answer(ConversionReportSchema, {
  period,
  asOf: iso(AS_OF),
  funnel: [...funnel],
  flow: [{ from: 'mql', to: 'sql', entered: 20, converted: 10, rate: 0.5 }],
});
answer(VelocityReportSchema, {
  period,
  asOf: iso(AS_OF),
  stages: [{ stage: 'mql', ...durations, open: 8, toNext: { ...durations, count: 10 } }],
});
answer(SlaReportSchema, {
  slaHours: 48,
  period,
  asOf: iso(AS_OF),
  mqlStays: 20,
  breaches: 3,
  rate: 0.15,
  byOutcome: { answered_late: 2, recycled_by_sla: 1, still_waiting: 0 },
  worst: [
    {
      leadId: LEAD_ID,
      mqlAt: iso(FROM + 10 * DAY),
      deadline: iso(FROM + 12 * DAY),
      outcome: 'recycled_by_sla',
      overdueHours: 48,
    },
  ],
  owners: [
    { owner: 'rep-ada', accepted: 9, medianHours: 6.5, p90Hours: 40, withinSla: 8, late: 1 },
    { owner: 'rep-sam', accepted: 6, medianHours: 20, p90Hours: 55, withinSla: 5, late: 1 },
  ],
  allOwners: { accepted: 15, medianHours: 12, p90Hours: 50, withinSla: 13, late: 2 },
  unaccepted: 1,
  waiting: { open: 2, pastSla: 0 },
  other: 2,
});
answer(CohortReportSchema, {
  asOf: iso(AS_OF),
  cohorts: [
    {
      month: '2026-01',
      leads: 30,
      reached: { mql: 12, sql: 6, opportunity: 3, customer: 2 },
      customerRate: 0.07,
      daysToCustomer: { count: 2, medianDays: 41, meanDays: 41, p90Days: 47 },
    },
  ],
});
const week = (n: number) => ({ from: iso(FROM + n * 7 * DAY), to: iso(FROM + (n + 1) * 7 * DAY) });
// One week: each stage ends with startBalance + entered − forward − out − back.
answer(FlowReportSchema, {
  period: week(0),
  interval: 'week',
  stages: ['lead', 'mql', 'sql', 'opportunity', 'customer'],
  buckets: [
    {
      ...week(0),
      stages: [
        {
          stage: 'lead',
          startBalance: 20,
          entered: 12,
          forward: 5,
          out: 2,
          back: 0,
          endBalance: 25,
          conversion: 0.16,
          velocityDays: 9.5,
        },
        {
          stage: 'mql',
          startBalance: 6,
          entered: 5,
          forward: 2,
          out: 1,
          back: 0,
          endBalance: 8,
          conversion: 0.18,
          velocityDays: 3.2,
        },
        {
          stage: 'sql',
          startBalance: 3,
          entered: 2,
          forward: 1,
          out: 0,
          back: 0,
          endBalance: 4,
          conversion: 0.2,
          velocityDays: 6,
        },
        {
          stage: 'opportunity',
          startBalance: 2,
          entered: 1,
          forward: 0,
          out: 1,
          back: 0,
          endBalance: 2,
          conversion: 0,
          velocityDays: null,
        },
        {
          stage: 'customer',
          startBalance: 3,
          entered: 0,
          forward: 0,
          out: 0,
          back: 0,
          endBalance: 3,
          conversion: 0,
          velocityDays: null,
        },
      ],
    },
  ],
});
answer(CohortFunnelReportSchema, {
  period: { from: iso(FROM), to: iso(FROM + 14 * DAY) },
  interval: 'week',
  asOf: iso(AS_OF),
  cohorts: [
    { ...week(0), leads: 90, funnel: [...funnel] },
    { ...week(1), leads: 90, funnel: [...funnel] },
  ],
});
answer(ForecastReportSchema, {
  asOf: iso(AS_OF),
  horizonDays: 90,
  stages: [
    { stage: 'mql', open: 8, history: 40, rate: 0.15, expectedCustomers: 1.2 },
    { stage: 'opportunity', open: 2, history: 12, rate: 0.5, expectedCustomers: 1 },
  ],
  expectedCustomers: 2.2,
  low: 1,
  high: 4,
  dealValue: 12_000,
  expectedRevenue: 26_400,
  notEnoughHistory: [],
});

// Backtests.
const whatIf = { config: { mqlThreshold: 40 }, label: 'mql at 40', until: '2026-03-31' };
request(BacktestRequestSchema, whatIf);
const backtest = {
  leads: 90,
  until: iso(AS_OF),
  series: [
    { label: 'actual', funnel: [...funnel], stages, refusedEvents: 0 },
    {
      label: 'mql at 40',
      funnel: funnel.map((step) => (step.stage === 'mql' ? { ...step, leads: 26, stepRate: 0.52 } : step)),
      stages: { ...stages, lead: 19, mql: 14 },
      refusedEvents: 0,
    },
  ],
};
answer(BacktestReportSchema, backtest);
answer(BacktestJobSchema, {
  id: '0b7e4c2a-9d15-4f38-8a6e-3c1f5d9b2e70',
  status: 'succeeded',
  label: 'mql at 40',
  until: iso(AS_OF),
  createdAt: iso(AS_OF + DAY),
  finishedAt: iso(AS_OF + DAY + 4_000),
  result: backtest,
  error: null,
});

// Config versions.
request(ConfigApplySchema, { config: { mqlThreshold: 40 }, note: 'MQL at 40 after the March backtest' });
request(ConfigRollbackSchema, { note: 'back to 50: too many MQLs for sales' });
answer(RolloutResultSchema, {
  version: 2,
  createdAt: '2026-04-01T08:00:00.000Z',
  note: 'MQL at 40 after the March backtest',
  config: { mqlThreshold: 40, personaFitThreshold: 75, salesSlaHours: 48 },
  applied: 38,
  failed: [],
});
answer(ConfigStatusSchema, {
  current: { version: 2, createdAt: '2026-04-01T08:00:00.000Z', note: 'MQL at 40 after the March backtest' },
  leadsPerVersion: [
    { version: 2, leads: 38 },
    { version: null, leads: 2 },
  ],
  running: 40,
});

// Simulations.
request(SimulationRequestSchema, {
  journey: {
    name: 'content download',
    events: [
      {
        day: 0,
        command: { type: 'form.submitted', form: 'content_download', consent: true, profile: PROFILE },
      },
    ],
  },
  days: 30,
});
answer(SimulationResultSchema, {
  name: 'content download',
  leadKey: 'default:email:ada@acme.example',
  days: 30,
  startedAt: '2026-01-01T00:00:00.000Z',
  durationMs: 2_400,
  events: [{ day: 0, type: 'form.submitted' }],
  stages: [{ day: 0, from: null, to: 'lead' }],
  emails: [{ day: 0, item: 'discovery-1' }],
  handoffs: [],
  effects: [{ day: 0, type: 'sendContent' }],
  final: { stage: 'lead' },
});

// Problem types (RFC 9457).
const rejected = {
  type: '/problems/rejected',
  code: 'rejected',
  title: "The lead's machine refused the command",
};
answer(ProblemTypeSchema, rejected);
answer(ProblemTypeListSchema, { problems: [rejected] });

// The vendors' own webhooks, as each tool posts them.
request(HubSpotBodySchema, [
  {
    eventId: 1001,
    subscriptionType: 'contact.propertyChange',
    portalId: 62515,
    objectId: 123,
    occurredAt: Date.UTC(2026, 2, 2, 9, 15),
    propertyName: 'email',
    propertyValue: 'ada@acme.example',
  },
]);
request(MauticBodySchema, {
  'mautic.lead_post_save_new': [
    {
      timestamp: '2026-03-02T09:15:00+00:00',
      contact: {
        id: 47,
        fields: { core: { email: { alias: 'email', value: 'ada@acme.example' } } },
      },
    },
  ],
});
request(TypeformBodySchema, {
  event_id: '01HW3ZQ8X4',
  event_type: 'form_response',
  form_response: {
    form_id: 'lT4Z3j',
    submitted_at: '2026-03-02T09:15:00Z',
    answers: [{ type: 'email', field: { id: 'f1', ref: 'email' }, email: 'ada@acme.example' }],
  },
});
answer(VendorWebhookAckSchema, {
  applied: [{ event: 'contact.propertyChange:email', leadId: LEAD_ID, stage: 'visitor', consent: 'unknown' }],
  ignored: [{ event: 'contact.propertyChange:lifecyclestage', reason: 'leadcycle decides the stage' }],
});

// Attribution by first touch.
const counts = { leads: 40, mqls: 12, sqls: 5, opportunities: 3, customers: 1, wonAmount: 12_000 };
answer(AttributionReportSchema, {
  model: 'first',
  by: 'source',
  period,
  rows: [
    { value: 'google', ...counts },
    { value: null, leads: 10, mqls: 1, sqls: 0, opportunities: 0, customers: 0, wonAmount: 0 },
  ],
  total: { leads: 50, mqls: 13, sqls: 5, opportunities: 3, customers: 1, wonAmount: 12_000 },
});

// Email performance per content item.
const noSkips = { do_not_contact: 0, hard_bounce: 0, complaint: 0, erased: 0, unsubscribed: 0, email_cap: 0 };
const guide = {
  sent: 120,
  deferred: 4,
  suppressed: 3,
  suppressedBy: { ...noSkips, hard_bounce: 2, email_cap: 1 },
  uniqueOpens: 54,
  uniqueClicks: 12,
  unsubscribes: 2,
  openRate: 0.45,
  clickRate: 0.1,
};
answer(EmailReportSchema, {
  period,
  items: [{ itemId: 'evaluation-2', title: 'Evaluation guide #2', ...guide }],
  total: guide,
  unsubscribesWithoutEmail: 0,
});
