/**
 * The HTTP API's request and response schemas. Requests reuse the machine's and the client's own
 * zod schemas (src/machines/events.ts, src/client/lead-key.ts), so the API accepts exactly what the
 * LeadClient accepts; responses describe LeadView. Every schema with an id in `apiSchemas` becomes a
 * named component of /openapi.json (request schemas get an `Input` suffix there).
 */
import { z } from 'zod';
import { LeadRefSchema, TenantSchema } from '../client/lead-key.js';
import {
  BantSchema,
  BuyingStageSchema,
  ConsentStateSchema,
  EmailSchema,
  FormKindSchema,
  LeadCommandSchema,
  LeadFactSchema,
  StageSchema as machineStageSchema,
  TemperatureSchema as machineTemperatureSchema,
  ProfileSchema,
  SalesCommandSchema,
  TIMER_EVENT_TYPES,
  TouchSchema,
} from '../machines/index.js';

type Meta = { id?: string | undefined; [key: string]: unknown };

/**
 * The shared schemas document themselves with `.describe()`, which lands in zod's global registry.
 * This map answers our own metadata first and the global registry's after it (never its ids), so
 * the descriptions reach the OpenAPI document. (fastify-type-provider-zod reaches into `_map` the
 * same way for its input/output registries.)
 */
class WithGlobalMetadata extends WeakMap<object, Meta> {
  override get(schema: object): Meta | undefined {
    const own = super.get(schema);
    const global = z.globalRegistry._map.get(schema as z.ZodType) as Meta | undefined;
    if (!global) return own;
    const { id: _ignored, ...inherited } = global;
    return { ...inherited, ...own };
  }
  override has(schema: object): boolean {
    return super.has(schema) || z.globalRegistry._map.has(schema as z.ZodType);
  }
}

/** Ids here are OpenAPI component names; they stay out of zod's global registry. */
export const apiSchemas = z.registry<Meta>();
apiSchemas._map = new WithGlobalMetadata() as typeof apiSchemas._map;

/** Registers `schema` as the OpenAPI component `id`. */
export function named<S extends z.ZodType>(id: string, schema: S, meta: Record<string, unknown> = {}): S {
  apiSchemas.add(schema, { ...meta, id });
  return schema;
}

// The shared domain schemas, reused as they are. Metadata only adds to their documentation: the
// emails' trim-and-lowercase pipe hides `format: email` from the generated input schema.
const emailDoc = { format: 'email', examples: ['ada@acme.example'] };
apiSchemas.add(EmailSchema, emailDoc);
for (const option of LeadRefSchema.options) {
  if ('email' in option.shape) apiSchemas.add(option.shape.email, emailDoc);
}
named('LeadRef', LeadRefSchema);
named('LeadCommand', LeadCommandSchema);
named('LeadFact', LeadFactSchema);
named('Profile', ProfileSchema);
named('Bant', BantSchema);
named('Touch', TouchSchema);

// The machine's vocabulary under its OpenAPI names.
export const StageSchema = named('Stage', machineStageSchema);
export const ConsentSchema = named('Consent', ConsentStateSchema);
export const TemperatureSchema = named('Temperature', machineTemperatureSchema);

/** `lead-` and 32 hex digits: the lead's workflow id, a hash of its key (no personal data in URLs). */
export const LeadIdSchema = z
  .string()
  .regex(/^lead-[0-9a-f]{32}$/, 'expected a lead id: "lead-" and 32 lowercase hex digits')
  .describe(
    'The lead id (its workflow id): "lead-" and 32 hex digits, a hash of tenant and email or external id',
  );

// ---------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------

export const CommandRequestSchema = named(
  'CommandRequest',
  z
    .object({
      lead: LeadRefSchema,
      command: LeadCommandSchema,
    })
    .strict()
    .describe('A command for one lead, identified by tenant and email, or tenant and external id'),
  {
    examples: [
      {
        lead: { tenant: 'acme', email: 'ada@acme.example' },
        command: {
          type: 'form.submitted',
          form: 'demo_request',
          consent: true,
          profile: { email: 'ada@acme.example', companySize: 250, sector: 'software', jobFunction: 'it' },
        },
      },
    ],
  },
);

export const FactRequestSchema = named(
  'FactRequest',
  z.object({ lead: LeadRefSchema, fact: LeadFactSchema }).strict(),
);

export const LookupRequestSchema = named('LookupRequest', z.object({ lead: LeadRefSchema }).strict());

export const LeadParamsSchema = z.object({ leadId: LeadIdSchema }).strict();

export const ListQuerySchema = z
  .object({
    stage: StageSchema.optional(),
    temperature: TemperatureSchema.optional(),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(100)
      .describe('At most this many leads on the page (1 to 1000, default 100)'),
    cursor: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .describe("The previous page's `nextCursor`, with the same filters"),
  })
  .strict();

/** Optional on every write. Printable ASCII, at most 255 characters. */
export const WriteHeadersSchema = z.looseObject({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, 'expected printable ASCII without spaces')
    .optional()
    .describe(
      'A retry with the same key and the same body returns the first response without a second event',
    ),
});

/**
 * What a form tool posts: the contact, the form kind and the opt-in. Mapped to a `form.submitted`
 * capture of the lead (tenant, email).
 */
export const FormWebhookSchema = named(
  'FormWebhook',
  z
    .object({
      tenant: TenantSchema.optional(),
      email: EmailSchema,
      form: FormKindSchema,
      consent: z.boolean().default(false).describe('The explicit marketing opt-in ticked on the form'),
      profile: ProfileSchema.omit({ email: true }).optional(),
      contentStage: BuyingStageSchema.optional(),
      touch: TouchSchema.optional(),
    })
    .strict(),
);

/** The commands a CRM may send: sales decisions, BANT and the deal, plus disqualification. */
/** The machine's own schema of what sales sends. */
export const CrmCommandSchema = named('CrmCommand', SalesCommandSchema);

export const CrmWebhookSchema = named(
  'CrmWebhook',
  z.object({ lead: LeadRefSchema, command: CrmCommandSchema }).strict(),
);

export const SignatureHeadersSchema = z.looseObject({
  'leadcycle-signature': z
    .string()
    .describe('t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>"> with the webhook secret'),
});

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

/** A time in an answer: ISO 8601 in UTC (`format: date-time` in the document). */
export const IsoTimeSchema = z.iso.datetime().describe('ISO 8601, UTC: 2026-12-02T18:00:00.000Z');

/** Epoch milliseconds (as the analytics, the imports and the stores keep time) as an answer's time. */
export const isoOf = (ms: number): string => new Date(ms).toISOString();

export const RejectionSchema = named(
  'Rejection',
  z.object({
    code: z.enum(['not_allowed_in_stage', 'guard_failed']),
    stage: StageSchema,
    consent: ConsentSchema,
    event: z.string(),
    guard: z.string().nullable(),
    message: z.string(),
  }),
);

export const IssueSchema = z.object({
  in: z.enum(['body', 'querystring', 'params', 'headers']).optional(),
  path: z.string().describe('Dotted path of the field, e.g. command.profile.email; empty for the whole part'),
  message: z.string(),
});

export const ErrorSchema = named(
  'Problem',
  z.object({
    type: z
      .string()
      .describe('The problem type, `/problems/<code>` (relative to the API; GET it), or about:blank'),
    title: z.string().describe('Short, fixed per type'),
    status: z.number().int().describe('The HTTP status'),
    detail: z.string().describe('What went wrong this time'),
    instance: z.string().optional().describe('The path of the request that failed'),
    code: z.string().describe('Stable, machine-readable: validation, unauthorized, rejected, not_found…'),
    issues: z.array(IssueSchema).optional(),
    rejection: RejectionSchema.optional(),
  }),
);

export const ProblemTypeSchema = named(
  'ProblemType',
  z.object({ type: z.string(), code: z.string(), title: z.string() }),
);

export const ProblemTypeListSchema = z.object({ problems: z.array(ProblemTypeSchema) });

export const ProblemCodeParamsSchema = z.object({ code: z.string().max(100) });

export const LeadViewSchema = named(
  'LeadView',
  z.object({
    leadId: LeadIdSchema,
    leadKey: z.string().describe('tenant:email:<email> or tenant:ext:<external id>'),
    stage: StageSchema,
    consent: ConsentSchema,
    score: z.number().describe('Engagement score, decayed'),
    fitScore: z.number().describe('Best persona match, 0 to 100'),
    persona: z.string().nullable(),
    temperature: TemperatureSchema,
    buyingStage: BuyingStageSchema,
    owner: z.string().nullable(),
    stageEnteredAt: IsoTimeSchema,
    reason: z
      .string()
      .nullable()
      .describe(
        'Why the lead is in its stage: the disqualify, loss, recycle or merge reason, else the cause of its last stage change',
      ),
    stale: z
      .boolean()
      .optional()
      .describe(
        'An SQL or opportunity sales left untouched: its owner was reminded (absent before time aged leads)',
      ),
    touches: z
      .object({ first: TouchSchema, last: TouchSchema })
      .optional()
      .describe(
        'Where the lead came from: its first touch (kept) and its last (each capture or visit with one); absent until one',
      ),
    configVersion: z
      .number()
      .int()
      .optional()
      .describe('The config version the lead runs, once one was rolled out to it (leadcycle config apply)'),
    next: z
      .array(
        z.object({
          event: z.enum(TIMER_EVENT_TYPES),
          at: IsoTimeSchema,
          deferredByCap: z.boolean().optional(),
        }),
      )
      .describe('Upcoming timer deadlines, soonest first'),
    state: z
      .object({
        value: z.object({ lifecycle: StageSchema, consent: ConsentSchema }),
        context: z.record(z.string(), z.unknown()).describe('The machine context: facts and derived scores'),
      })
      .describe("The machine's persisted state"),
  }),
);
export type LeadViewBody = z.output<typeof LeadViewSchema>;

const at = IsoTimeSchema;
export const TimelineEntrySchema = named(
  'TimelineEntry',
  z.discriminatedUnion('kind', [
    z.object({
      kind: z.literal('stage'),
      at,
      from: StageSchema.nullable(),
      to: StageSchema,
      cause: z.string().describe('The event type that caused the change'),
      reason: z.string().nullable(),
      amount: z.number().optional(),
    }),
    z.object({
      kind: z.literal('email'),
      at,
      email: z.string().describe('nurture or newsletter'),
      family: z.string(),
      buyingStage: BuyingStageSchema,
      item: z.object({ id: z.string(), title: z.string() }),
      outcome: z.enum(['sent', 'skipped', 'failed', 'pending']),
      skipped: z.string().optional().describe('Why nothing was sent (suppressed, unsubscribed, email_cap…)'),
    }),
    z.object({
      kind: z.literal('handoff'),
      at,
      type: z.string().describe('sales.handoff or sales.do_not_contact'),
      escalation: z.boolean().optional(),
      slaDeadline: z.string().optional(),
      score: z.number().optional(),
      temperature: z.string().optional(),
    }),
    z.object({
      kind: z.literal('consent'),
      at,
      consent: ConsentSchema,
      doNotContact: z.boolean(),
      source: z.string(),
    }),
    z.object({ kind: z.literal('config'), at, version: z.unknown() }),
  ]),
);

export const TimelineSchema = named(
  'LeadTimeline',
  z.object({
    leadId: LeadIdSchema,
    runs: z.number().int().describe('Runs of the continue-as-new chain read'),
    complete: z.boolean().describe('False when the oldest runs are past retention: the start is missing'),
    entries: z.array(TimelineEntrySchema).describe('In the order they happened'),
  }),
);

export const AcceptedSchema = named(
  'Accepted',
  z.object({ accepted: z.literal(true), leadId: LeadIdSchema }),
);

export const LeadListingSchema = named(
  'LeadListing',
  z.object({
    leadId: z.string().describe('The workflow id: use it with GET /v1/leads/{leadId}'),
    stage: z.string().optional(),
    score: z.number().optional(),
    temperature: z.string().optional(),
    buyingStage: z.string().optional(),
    owner: z
      .string()
      .optional()
      .describe(
        "The `LeadOwner` search attribute: `marketing`, the owner's id, or `sales` for an owner given as a name or an address (GET /v1/leads/{leadId} has it as given)",
      ),
  }),
);

export const LeadListSchema = z.object({
  leads: z.array(LeadListingSchema),
  nextCursor: z
    .string()
    .nullable()
    .describe(
      'Pass as `cursor` for the next page (null after the last; a page may be short and still have one)',
    ),
});

export const WebhookAckSchema = named(
  'WebhookAck',
  z.object({ leadId: LeadIdSchema, stage: StageSchema, consent: ConsentSchema }),
);

/** What a vendor's delivery (HubSpot, Mautic, Typeform) did: each command applied, each event left alone and why. */
export const VendorWebhookAckSchema = named(
  'VendorWebhookAck',
  z.object({
    applied: z.array(
      z.object({
        event: z.string().describe('The vendor event it came from (HubSpot: subscriptionType:propertyName)'),
        leadId: LeadIdSchema,
        stage: StageSchema,
        consent: ConsentSchema,
      }),
    ),
    ignored: z.array(z.object({ event: z.string(), reason: z.string() })),
  }),
);

export const HealthSchema = z.object({ status: z.literal('ok') });
/**
 * The analytics store as the API sees it: `degraded` (with the store's error code: `corrupt`, `busy`,
 * `unavailable`, `schema_too_new`…) leaves commands, emails and handoffs running; reports answer 503.
 */
export const AnalyticsHealthSchema = z.discriminatedUnion('status', [
  z.object({ status: z.literal('up') }),
  z.object({ status: z.literal('degraded'), code: z.string(), message: z.string() }),
]);
export const ReadySchema = z.object({
  status: z.literal('ready'),
  temporal: z.literal('reachable'),
  /** Present when the API serves analytics. */
  analytics: AnalyticsHealthSchema.optional(),
});
