/**
 * What the analytics read: the stage changes every lead workflow records, and the journal of the
 * events each lead received from outside (commands and facts, not its own timers), which a backtest
 * replays through the machine under another config. Both are written by activities, idempotently.
 */
import { z } from 'zod';
import {
  ConsentSourceSchema,
  ConsentStateSchema,
  LeadEventSchema,
  StageSchema,
  TouchSchema,
} from '../machines/index.js';

/** One stage change, as the machine emitted it (`at` is the workflow's clock, epoch ms). */
export const StageChangeRowSchema = z.object({
  /** Idempotency key: `<workflow id>/<effect sequence>`. */
  key: z.string().min(1),
  /**
   * The lead's pseudonymous id: its workflow id (`lead-<hash>`). Never the lead key, which holds the
   * email address: nothing in the analytics store names a person.
   */
  leadId: z.string().min(1),
  /** The effect's sequence number in its lead: orders changes made at the same instant. */
  seq: z.number().int().positive(),
  from: StageSchema.nullable(),
  to: StageSchema,
  at: z.number().int().nonnegative(),
  /** The event type that caused the change, and its reason when it carries one. */
  cause: z.string(),
  reason: z.string().nullable(),
  /** Into an opportunity or a customer: the deal's amount, when one was given (migration 2). */
  amount: z.number().nonnegative().nullable(),
  /**
   * The lead's tenant (the part of its key before the first `:`), for reports per tenant (migration
   * 5). Null for rows written before it whose lead has recorded nothing since.
   */
  tenant: z.string().min(1).nullable().optional(),
  /**
   * The lead's first and last touch as of the change (marketing labels, no personal data), for the
   * attribution report (SQLite migration 6, PostgreSQL 2). Absent before the lead had one.
   */
  firstTouch: TouchSchema.nullable().optional(),
  lastTouch: TouchSchema.nullable().optional(),
  /**
   * The lead's sales owner at the change, whenever it has one (into and out of an SQL, opportunity or
   * customer): a sales rep's identifier, for the SLA per owner (SQLite migration 8, PostgreSQL 4).
   */
  owner: z.string().min(1).nullable().optional(),
});
export type StageChangeRow = z.infer<typeof StageChangeRowSchema>;

/**
 * One event a lead accepted from outside, with its personal data taken out (see `redactEvent`):
 * enough for the machine's guards (persona fields, BANT, scores, consent), nothing that names anyone.
 */
export const JournalEntrySchema = z.object({
  leadId: z.string().min(1),
  /** Position in the lead's journal, from 1, carried across continue-as-new. */
  seq: z.number().int().positive(),
  event: LeadEventSchema,
});
export type JournalEntry = z.infer<typeof JournalEntrySchema>;

/** A lead as the journal knows it: when its workflow started. */
export const JournaledLeadSchema = z.object({
  leadId: z.string().min(1),
  createdAt: z.number().int().nonnegative(),
  /** The lead's tenant (migration 5); null for leads journaled before it and silent since. */
  tenant: z.string().min(1).nullable().optional(),
});
export type JournaledLead = z.infer<typeof JournaledLeadSchema>;

/**
 * Why an address gets no marketing email, whatever record of the person asks: a do-not-contact, a
 * hard bounce, a complaint, an erasure. Kept per tenant by a hash of the normalised address
 * (`addressHash`), so an erased person is still recognised and nothing names them.
 */
export const SUPPRESSION_REASONS = ['do_not_contact', 'hard_bounce', 'complaint', 'erased'] as const;
export const SuppressionSchema = z.object({
  tenant: z.string().min(1),
  addressHash: z.string().regex(/^[0-9a-f]{64}$/),
  reason: z.enum(SUPPRESSION_REASONS),
  at: z.number().int().nonnegative(),
});
export type Suppression = z.infer<typeof SuppressionSchema>;

/** One consent change of a lead: granted, withdrawn, do-not-contact or a resubscribe, with its source. */
export const ConsentChangeRowSchema = z.object({
  /** Idempotency key: `<workflow id>/<effect sequence>`. */
  key: z.string().min(1),
  leadId: z.string().min(1),
  consent: ConsentStateSchema,
  doNotContact: z.boolean(),
  source: ConsentSourceSchema,
  at: z.number().int().nonnegative(),
});
export type ConsentChangeRow = z.infer<typeof ConsentChangeRowSchema>;

/**
 * What became of one marketing email (SQLite migration 7, PostgreSQL 3): `sent`, `suppressed` (not
 * sent: `skipReason` says why) or `deferred` (one SMTP attempt the mail server refused for now, and
 * Temporal retried). Counted per content item by the email report; no address, no name.
 */
export const EMAIL_OUTCOMES = ['sent', 'deferred', 'suppressed'] as const;
export type EmailOutcome = (typeof EMAIL_OUTCOMES)[number];
/** Why an email was not sent (the ContentSender's SkipReason, src/activities/content-sender.ts). */
export const EMAIL_SKIP_REASONS = [...SUPPRESSION_REASONS, 'unsubscribed', 'email_cap'] as const;
export type EmailSkipReason = (typeof EMAIL_SKIP_REASONS)[number];

export const EmailOutcomeRowSchema = z
  .object({
    /**
     * Idempotency key: the delivery's (`<workflow id>/<effect sequence>`), one outcome per delivery;
     * a deferral's is `<delivery key>#<attempt>`, one per attempt.
     */
    key: z.string().min(1),
    leadId: z.string().min(1),
    /** The lead's tenant; null for a lead key without one. */
    tenant: z.string().min(1).nullable(),
    /** The content item (its id in the config's content library) and its title when sent. */
    itemId: z.string().min(1),
    title: z.string().nullable(),
    outcome: z.enum(EMAIL_OUTCOMES),
    /** Set for `suppressed` only. */
    skipReason: z.enum(EMAIL_SKIP_REASONS).nullable(),
    at: z.number().int().nonnegative(),
  })
  .refine((r) => (r.outcome === 'suppressed') === (r.skipReason !== null), {
    message: 'a skip reason goes with a suppressed email, and only with one',
    path: ['skipReason'],
  });
export type EmailOutcomeRow = z.infer<typeof EmailOutcomeRowSchema>;

export interface EmailOutcomeQuery {
  /** Only this lead's (a person's export). */
  leadId?: string;
  /** Only this tenant's emails. */
  tenant?: string;
  /** Outcomes before this instant (epoch ms). */
  until?: number;
}

export interface StageChangeQuery {
  leadId?: string;
  /** Only this tenant's leads (rows of unknown tenant are never a tenant's). */
  tenant?: string;
  /** Changes at or after this instant (epoch ms). */
  since?: number;
  /** Changes before this instant (epoch ms). */
  until?: number;
}

export interface JournalQuery {
  /** Only this tenant's leads. */
  tenant?: string;
}

/**
 * The analytics store. Small on purpose: the embedded default is SQLite in the data directory
 * (`SqliteAnalyticsStore`); `PostgresAnalyticsStore` serves many processes (LEADCYCLE_DATABASE_URL).
 * Every write is idempotent by its key, so activity retries never double-count.
 */
export interface AnalyticsStore {
  /** recorded=false when a change with that key is already stored. */
  recordStageChange(change: StageChangeRow): Promise<{ recorded: boolean }>;
  /** Stores the lead (once) and the entries not stored yet; returns how many were new. */
  recordJournal(lead: JournaledLead, entries: JournalEntry[]): Promise<{ recorded: number }>;
  /** Stage changes ordered by lead, then seq. */
  stageChanges(query?: StageChangeQuery): Promise<StageChangeRow[]>;
  /** Every journaled lead (of `tenant`, when given) with its events in order, one lead at a time (100,000 leads fit). */
  journal(query?: JournalQuery): AsyncIterable<{ lead: JournaledLead; events: JournalEntry['event'][] }>;
  /** Adds an address to its tenant's suppression list; recorded=false when it was there already. */
  suppress(entry: Suppression): Promise<{ recorded: boolean }>;
  /** The suppression of an address in its tenant, or null: checked at every marketing send. */
  suppression(tenant: string, addressHash: string): Promise<Suppression | null>;
  /** recorded=false when a change with that key is already stored. */
  recordConsentChange(change: ConsentChangeRow): Promise<{ recorded: boolean }>;
  /** A lead's consent changes, oldest first. */
  consentChanges(leadId: string): Promise<ConsentChangeRow[]>;
  /** recorded=false when an outcome with that key is already stored (the first one stays). */
  recordEmailOutcome(row: EmailOutcomeRow): Promise<{ recorded: boolean }>;
  /** Email outcomes ordered by `at`, then key. */
  emailOutcomes(query?: EmailOutcomeQuery): Promise<EmailOutcomeRow[]>;
  /**
   * Deletes everything stored of a lead (stage changes, journal, consent changes, email outcomes);
   * the suppression list stays.
   */
  forgetLead(leadId: string): Promise<{ removed: number }>;
  close(): Promise<void>;
}
