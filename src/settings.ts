/**
 * leadcycle's own environment variables, in one schema: every LEADCYCLE_* variable the processes read.
 * Where Temporal is (TEMPORAL_ADDRESS, TEMPORAL_PROFILE, TLS, API key…) is Temporal's own
 * configuration, read by src/temporal/connection.ts alone. Each process parses it once at start-up
 * (`readSettings()`) and passes the values down; a bad value is reported as a field issue naming the
 * variable, all of them at once.
 *
 * Defaults live here when every process agrees on them; where processes differ (the worker exposes
 * metrics only when asked, `npm start` always does), the variable stays optional and each process
 * applies its own.
 */
import { z } from 'zod';
import { mailboxAddress, unsubscribeUrlFor } from './activities/email.js';
import { describeIssues, type FieldIssue, issuesOf, LeadcycleError } from './errors.js';

/** An unset and an empty variable mean the same (a blank line in a .env file). */
const blankAsUnset = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const optional = <T extends z.ZodType>(schema: T) => z.preprocess(blankAsUnset, schema.optional());

/** `fallback` is what the variable would say, parsed like it (a prefault, in zod's terms). */
const orDefault = <T extends z.ZodType<unknown, string>>(schema: T, fallback: string) =>
  z.preprocess(blankAsUnset, schema.prefault(fallback as z.input<T>));

const text = z.string().trim();

const isUrl = (s: string, protocols: string[]) => {
  try {
    return protocols.includes(new URL(s).protocol);
  } catch {
    return false;
  }
};

const port = z
  .string()
  .trim()
  .superRefine((s, ctx) => {
    if (!/^\d+$/.test(s) || Number(s) > 65_535) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not a port number (0 to 65535)` });
    }
  })
  .transform(Number);

const milliseconds = z.coerce
  .number()
  .int('must be a whole number of milliseconds')
  .positive('must be positive');

/** `a, b,,c` -> ['a', 'b', 'c']. */
const commaList = (empty: string) =>
  z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== ''),
    )
    .pipe(z.array(z.string()).min(1, empty));

export const SettingsSchema = z
  .object({
    /** The workers' task queue; unset means the LeadClient's default ("leadcycle"). */
    LEADCYCLE_TASK_QUEUE: optional(text),

    /** SQLite, outbox, stage changes, tools; unset: `.leadcycle` in the working directory (src/paths.ts). */
    LEADCYCLE_DATA_DIR: optional(text),
    /** The JSON config new leads start with; unset: the built-in defaults. */
    LEADCYCLE_CONFIG: optional(text),
    /** Explicit Temporal binaries; one set to a missing file is an error, not a fallback. */
    LEADCYCLE_TEMPORAL_BIN: optional(z.string()),
    LEADCYCLE_TEMPORAL_TEST_SERVER_BIN: optional(z.string()),
    /** A prebuilt workflow bundle for scripts/fuzz-api.ts (the tests build one per run). */
    LEADCYCLE_WORKFLOW_BUNDLE: optional(text),

    // The worker.
    /** Workflows kept in memory; unset: from the heap size (src/worker.ts). */
    LEADCYCLE_MAX_CACHED_WORKFLOWS: optional(
      z.coerce.number('must be a whole number').int('must be a whole number').positive('must be positive'),
    ),
    /** host:port of the Prometheus endpoint. */
    LEADCYCLE_METRICS_ADDRESS: optional(text),

    // The activities' adapters: each unset one means the local outbox.
    LEADCYCLE_SMTP_URL: optional(
      text.refine((s) => isUrl(s, ['smtp:', 'smtps:']), 'must be a URL like smtp://user:pass@host:587'),
    ),
    LEADCYCLE_MAIL_FROM: optional(
      text.refine(
        (s) => z.email().safeParse(mailboxAddress(s)).success,
        'must be an address, or "Name <address>"',
      ),
    ),
    LEADCYCLE_UNSUBSCRIBE_URL: optional(
      text.refine(
        (s) => isUrl(unsubscribeUrlFor(s, 'lead'), ['https:', 'http:', 'mailto:']),
        'must be an https:, http: or mailto: URL, with {leadKey} where the lead key goes',
      ),
    ),
    /** Signs the one-click unsubscribe link of every marketing email; the API verifies it. */
    LEADCYCLE_UNSUBSCRIBE_SECRET: optional(
      // Anyone holding one link can try secrets offline: a short one would not hold.
      z.string().min(16, 'must be at least 16 characters'),
    ),
    /**
     * Signs the dashboard's session cookies: the same on every API process, so a restart or another
     * replica keeps operators logged in. Unset: a random one per process (`npm start` keeps one in
     * the data dir).
     */
    LEADCYCLE_DASHBOARD_SECRET: optional(z.string().min(32, 'must be at least 32 characters')),
    /** Where recipients reach the API (the unsubscribe links); unset: the API's own address. */
    LEADCYCLE_PUBLIC_URL: optional(
      text.refine((s) => isUrl(s, ['https:', 'http:']), 'must be an http(s) URL'),
    ),
    /** Where operators open the Temporal UI: `leadcycle show` prints each lead's page there. */
    LEADCYCLE_TEMPORAL_UI_URL: orDefault(
      text.refine((s) => isUrl(s, ['https:', 'http:']), 'must be an http(s) URL'),
      'http://localhost:8233',
    ),
    LEADCYCLE_CRM_WEBHOOK_URL: optional(
      text.refine((s) => isUrl(s, ['https:', 'http:']), 'must be an http(s) URL'),
    ),
    LEADCYCLE_CRM_WEBHOOK_SECRET: optional(
      // Anyone holding one signed request can try secrets offline: a short one would not hold.
      z.string().min(16, 'must be at least 16 characters'),
    ),
    /**
     * How long the local outbox keeps a delivery (its names and addresses): older records are pruned
     * at worker start and daily (src/activities/outbox-retention.ts). Whole days, at least 1: far
     * longer than an activity's retry of a delivery it recorded (see there).
     */
    LEADCYCLE_OUTBOX_RETENTION_DAYS: orDefault(
      z.coerce
        .number<string>('must be a whole number of days')
        .int('must be a whole number of days')
        .min(1, 'must be at least 1 day'),
      '90',
    ),
    LEADCYCLE_CRM_TIMEOUT_MS: optional(milliseconds),
    LEADCYCLE_SMTP_TIMEOUT_MS: optional(milliseconds),

    // The HTTP API.
    /** Required by the API alone (src/api/env.ts); `npm start` makes a local key without it. */
    LEADCYCLE_API_KEYS: optional(commaList('holds no key, only commas')),
    LEADCYCLE_API_PORT: orDefault(port, '3000'),
    LEADCYCLE_API_HOST: orDefault(text, '127.0.0.1'),
    /** Replaced by LEADCYCLE_FORMS_WEBHOOK_SECRET and LEADCYCLE_CRM_COMMAND_SECRET: set, it is an error. */
    LEADCYCLE_WEBHOOK_SECRET: optional(z.string()),

    // Backtests over HTTP (src/analytics/backtest-jobs.ts): each in a thread of its own.
    /** The time box of one backtest; past it the thread is stopped (`backtest_timeout`). */
    LEADCYCLE_BACKTEST_TIMEOUT_MS: orDefault(
      z.coerce.number<string>().int('must be a whole number of milliseconds').positive('must be positive'),
      '60000',
    ),
    /** Backtests running at once; one more is a 429 with Retry-After. */
    LEADCYCLE_BACKTEST_CONCURRENCY: orDefault(
      z.coerce
        .number<string>('must be a whole number')
        .int('must be a whole number')
        .positive('must be positive'),
      '1',
    ),

    // The codec and its server.
    /** `<id>:<base64 key>[,…]`, parsed by src/codec/keys.ts; unset: the data dir's key file. */
    LEADCYCLE_CODEC_KEYS: optional(text),
    /** Bearer token the codec server accepts; required beyond loopback unless a userinfo URL is set. */
    LEADCYCLE_CODEC_TOKEN: optional(
      // It unlocks every payload: a short one could be guessed at.
      z.string().min(32, 'too short: use at least 32 characters (openssl rand -hex 32)'),
    ),
    LEADCYCLE_CODEC_ORIGINS: orDefault(commaList('holds no origin, only commas'), 'http://localhost:8233'),
    LEADCYCLE_CODEC_HOST: orDefault(text, '127.0.0.1'),
    LEADCYCLE_CODEC_PORT: orDefault(port, '8888'),

    // The API's deadline on Temporal (idempotency, issue #17).
    /** Deadline of each Temporal call an API request makes; past it the answer is a 503. */
    LEADCYCLE_API_TEMPORAL_TIMEOUT_MS: orDefault(
      z.coerce.number<string>().int('must be a whole number of milliseconds').positive('must be positive'),
      '20000',
    ),
    // ---- Closed doors (issue #17): who may reach what. ----
    /**
     * An OIDC userinfo endpoint: the codec server accepts a Bearer it answers 2xx for (the UI user's
     * access token, sent with TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true).
     */
    LEADCYCLE_CODEC_USERINFO_URL: optional(
      text.refine((s) => isUrl(s, ['https:', 'http:']), 'must be an http(s) URL'),
    ),
    /** Signs the form tools' deliveries to /v1/webhooks/forms (captures only). */
    LEADCYCLE_FORMS_WEBHOOK_SECRET: optional(z.string().min(16, 'too short: use at least 16 characters')),
    /**
     * Signs the CRM's commands to /v1/webhooks/crm (deal.won and the like). Not the outbound
     * LEADCYCLE_CRM_WEBHOOK_SECRET: whoever verifies our handoffs need not be able to command leads.
     */
    LEADCYCLE_CRM_COMMAND_SECRET: optional(z.string().min(16, 'too short: use at least 16 characters')),
    /** The vendors' own webhooks (src/api/vendor-webhooks.ts): each enables its route; captures only. */
    LEADCYCLE_HUBSPOT_CLIENT_SECRET: optional(z.string().min(16, 'too short: use at least 16 characters')),
    LEADCYCLE_MAUTIC_WEBHOOK_SECRET: optional(z.string().min(16, 'too short: use at least 16 characters')),
    LEADCYCLE_TYPEFORM_WEBHOOK_SECRET: optional(z.string().min(16, 'too short: use at least 16 characters')),
    /** A key for GET /metrics alone (a Prometheus scraper); an admin API key works too. */
    LEADCYCLE_METRICS_KEY: optional(z.string().min(16, 'too short: use at least 16 characters')),
    // ---- end of closed doors ----
    // The analytics store's fault isolation (src/analytics/sqlite/resilient.ts).
    /**
     * Longest a write waits for another process's lock on leadcycle.db: better-sqlite3 blocks the
     * whole process meanwhile, so short; a stage change or journal batch that meets a longer lock is
     * spooled and written later.
     */
    LEADCYCLE_ANALYTICS_BUSY_TIMEOUT_MS: z.preprocess(blankAsUnset, milliseconds.default(100)),
    /** How often a degraded store is reopened and the spool drained into it. */
    LEADCYCLE_ANALYTICS_RETRY_MS: z.preprocess(blankAsUnset, milliseconds.default(2_000)),
    /**
     * The PostgreSQL analytics store, shared by every worker and API (src/analytics/postgres/); unset:
     * SQLite in the data dir, the embedded default.
     */
    LEADCYCLE_DATABASE_URL: optional(
      text.refine(
        (s) => isUrl(s, ['postgres:', 'postgresql:']),
        'must be a URL like postgres://user:password@host:5432/database',
      ),
    ),
    // Lead ids (src/client/lead-ids.ts): every process that names leads must share both.
    /** Keys the workflow ids and the suppression list's address hashes; unset: the data dir's lead-id-secret. */
    LEADCYCLE_LEAD_ID_SECRET: optional(
      // Whoever holds it can test a guessed address against an id: it must not be guessable itself.
      z.string().min(32, 'must be at least 32 characters (e.g. openssl rand -hex 32)'),
    ),
    /** `legacy`: also find leads started under the unkeyed ids of before (README: Personal data). */
    LEADCYCLE_LEAD_IDS: optional(
      z.enum(
        ['keyed', 'legacy'],
        'must be "keyed" (new deployments) or "legacy" (leads from before keyed ids)',
      ),
    ),
  })
  .superRefine((env, ctx) => {
    // ---- closed doors: one secret per webhook ----
    if (env.LEADCYCLE_WEBHOOK_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['LEADCYCLE_WEBHOOK_SECRET'],
        message:
          'no longer read: one secret signed both form captures and CRM commands; set LEADCYCLE_FORMS_WEBHOOK_SECRET ' +
          'and LEADCYCLE_CRM_COMMAND_SECRET, two different secrets, instead',
      });
    }
    const command = env.LEADCYCLE_CRM_COMMAND_SECRET;
    if (
      command !== undefined &&
      (command === env.LEADCYCLE_FORMS_WEBHOOK_SECRET || command === env.LEADCYCLE_CRM_WEBHOOK_SECRET)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['LEADCYCLE_CRM_COMMAND_SECRET'],
        message:
          'must differ from LEADCYCLE_FORMS_WEBHOOK_SECRET and LEADCYCLE_CRM_WEBHOOK_SECRET: whoever holds those must not command leads',
      });
    }
    // A vendor's secret is held by the vendor: it must not sign the CRM's commands too.
    for (const name of [
      'LEADCYCLE_HUBSPOT_CLIENT_SECRET',
      'LEADCYCLE_MAUTIC_WEBHOOK_SECRET',
      'LEADCYCLE_TYPEFORM_WEBHOOK_SECRET',
    ] as const) {
      if (command !== undefined && env[name] === command) {
        ctx.addIssue({
          code: 'custom',
          path: [name],
          message: 'must differ from LEADCYCLE_CRM_COMMAND_SECRET: whoever holds it must not command leads',
        });
      }
    }
    // ---- end of closed doors ----
    if (env.LEADCYCLE_CRM_WEBHOOK_URL && !env.LEADCYCLE_CRM_WEBHOOK_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['LEADCYCLE_CRM_WEBHOOK_SECRET'],
        message: 'required when LEADCYCLE_CRM_WEBHOOK_URL is set: every webhook is signed with it',
      });
    }
    if (env.LEADCYCLE_SMTP_URL && !env.LEADCYCLE_MAIL_FROM) {
      ctx.addIssue({
        code: 'custom',
        path: ['LEADCYCLE_MAIL_FROM'],
        message: 'required when LEADCYCLE_SMTP_URL is set: the sender address of every email',
      });
    }
  });

export type Settings = z.output<typeof SettingsSchema>;

/**
 * A bad environment, all of it at once: each issue names its variable,
 * `{ path: ['LEADCYCLE_API_PORT'], message: '"x" is not a port number (0 to 65535)' }`.
 */
export class SettingsError extends LeadcycleError<'invalid_settings'> {
  constructor(readonly issues: FieldIssue[]) {
    super(
      'invalid_settings',
      issues.length === 1
        ? describeIssues(issues)
        : `invalid configuration:\n  ${describeIssues(issues).replaceAll('; ', '\n  ')}`,
    );
  }
}

/** The settings in `env`, checked; throws SettingsError. */
export function readSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = SettingsSchema.safeParse(env);
  if (!parsed.success) throw new SettingsError(issuesOf(parsed.error));
  return parsed.data;
}
