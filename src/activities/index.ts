/**
 * The lead workflow's activities: the machine's effects carried out against the outside world.
 *
 * Every activity is safe under at-least-once execution: the workflow passes an idempotency key
 * (workflow id + a sequence number), and a retry with a key already done does nothing and says so.
 * Permanent failures are non-retryable `PermanentFailure`s (an ApplicationFailure whose type is the
 * code); anything else thrown is retried by Temporal.
 */
import { Context } from '@temporalio/activity';
import { z } from 'zod';
import { openServedStore, type ServedAnalyticsStore } from '../analytics/open.js';
import type { AnalyticsStore, EmailOutcome, EmailOutcomeRow } from '../analytics/records.js';
import { redactEvent } from '../analytics/redact.js';
import { suppressionOf, tenantOfLeadKey } from '../analytics/suppression.js';
import { type LeadIds, leadIds } from '../client/lead-key.js';
import { type ConsentState, type Effect, keyAddressOf, type LeadEvent } from '../machines/index.js';
import { stateQuery } from '../workflows/messages.js';
import { loadActivityConfig } from './config.js';
import {
  type ContentSender,
  OutboxSender,
  type SendResult,
  type SkipReason,
  SmtpSender,
  skipReasonOf,
} from './content-sender.js';
import {
  type CrmEffect,
  type CrmHandoff,
  type HandoffLead,
  OutboxCrm,
  redactUrl,
  WebhookCrm,
} from './crm.js';
import { type DeadLetter, type DeadLetterKind, replySummary } from './dead-letters.js';
import { mailboxAddress, type Recipient } from './email.js';
import {
  CrmUnavailableError,
  DeadLetterUnwritableError,
  PermanentFailure,
  SmtpUnavailableError,
} from './errors.js';
import { KeyedLock } from './keyed-lock.js';
import { Outbox } from './outbox.js';

export * from './config.js';
export * from './content-sender.js';
export * from './crm.js';
export * from './dead-letters.js';
export * from './email.js';
export * from './errors.js';
export * from './outbox.js';
export * from './retry.js';
export * from './signature.js';
export * from './unsubscribe-link.js';

export interface ActivityDeps {
  outbox: Outbox;
  sender: ContentSender;
  crm: CrmHandoff;
  /** Stage changes and the journal, for the analytics (src/analytics/). */
  analytics: AnalyticsStore;
  /** Names other leads in the journal and hashes suppressed addresses; default: the process's (leadIds()). */
  leadIds?: LeadIds;
}

/** The tenant of a lead key (`<tenant>:…`), for the analytics' per-tenant figures; null for a key without one. */
const tenantOfKey = (leadKey: string): string | null =>
  leadKey.includes(':') ? tenantOfLeadKey(leadKey) : null;

interface EffectInput {
  idempotencyKey: string;
  workflowId: string;
  leadKey: string;
}

export interface RecordStageChangeInput extends EffectInput {
  change: Extract<Effect, { type: 'stage.changed' }>;
}

export interface RecordConsentChangeInput extends EffectInput {
  change: Extract<Effect, { type: 'consent.changed' }>;
  /** The lead's address, when it has one: a do-not-contact puts it on its tenant's suppression list. */
  address: string | null;
}

export interface RecordJournalInput {
  workflowId: string;
  leadKey: string;
  /** When the lead's workflow started (the backtest starts its machine then). */
  createdAt: number;
  entries: Array<{ seq: number; event: LeadEvent }>;
}

/**
 * The store writes of a lead's next effects, in their order, and the journal batch due with them:
 * carried out as one local activity (one marker in history, no round trip through the server).
 */
export interface RecordLeadChangesInput {
  changes: Array<
    | { activity: 'recordStageChange'; input: RecordStageChangeInput }
    | { activity: 'recordConsentChange'; input: RecordConsentChangeInput }
  >;
  journal: RecordJournalInput | null;
}

/** What a batch of store writes wrote: how many rows were new, and the changes it carried. */
export interface RecordLeadChangesResult {
  recorded: number;
  changes: Array<{
    activity: RecordLeadChangesInput['changes'][number]['activity'];
    change: RecordStageChangeInput['change'] | RecordConsentChangeInput['change'];
  }>;
}

export interface SendContentInput extends EffectInput {
  to: Recipient;
  content: Extract<Effect, { type: 'content.send' }>;
  /**
   * The lead's consent when the workflow carries the email out (not when it was queued): an email
   * queued behind a slow effect is not sent after an unsubscribe or a do-not-contact.
   */
  consent?: { state: ConsentState; doNotContact: boolean };
  /**
   * The lead's email cap (its config's `emailCap`), checked again against the times emails really
   * left: after an outage, late deliveries must not put more than `max` in any window. Absent in
   * activities scheduled before it was passed: then only the machine's check applies.
   */
  emailCap?: { max: number; windowDays: number };
}

export interface HandOffToSalesInput extends EffectInput {
  lead: HandoffLead;
  handoff: CrmEffect;
}

export interface RemindSalesInput extends EffectInput {
  lead: HandoffLead;
  /** Named as a handoff's: a dead letter of either is delivered again the same way. */
  handoff: Extract<Effect, { type: 'sales.stale_reminder' }>;
}

const EmailSchema = z.email();

const DAY_MS = 24 * 3600_000;
/** An activity attempt's longest run (startToCloseTimeout in src/workflows/effects.ts). */
const ONE_ATTEMPT_MS = 60_000;

/** The running activity's context, or null outside one (`leadcycle deliveries retry`). */
function activityContext(): Context | null {
  try {
    return Context.current();
  } catch {
    return null;
  }
}

/**
 * The lead's consent as its workflow holds it now, asked on a retry: an effect stuck behind an outage
 * was queued with the consent of then, and the consent change that came meanwhile (its suppression
 * entry too) waits behind it in the workflow's queue. Null on a first attempt (the input is fresh:
 * the workflow took it when it carried the effect out), outside Temporal, or when the workflow cannot
 * answer (then the input's consent and the suppression list decide, as before).
 */
async function consentNow(
  workflowId: string,
): Promise<{ state: ConsentState; doNotContact: boolean } | null> {
  const context = activityContext();
  if (!context || context.info.attempt <= 1) return null;
  try {
    const view = await context.client.workflow.getHandle(workflowId).query(stateQuery);
    return { state: view.state.value.consent, doNotContact: view.state.context.consent.doNotContact };
  } catch (err) {
    context.log.warn('could not ask the lead for its consent now; using the consent it was queued with', {
      error: err instanceof Error ? err.message : String(err),
    });
    return null;
  }
}

/** A summary of a retryable failure for a dead letter (no reply body, no address). */
function retryableSummary(err: Error): string {
  if (err instanceof CrmUnavailableError)
    return err.status === null ? 'CRM unreachable' : `HTTP ${err.status}`;
  if (err instanceof SmtpUnavailableError)
    return `SMTP unavailable${err.smtpCode ? ` (${err.smtpCode})` : ''}`;
  return err.name;
}

export function createActivities(deps: ActivityDeps) {
  const { sender, crm, analytics, outbox } = deps;
  // Resolved now: a worker without a lead id secret fails at start, not at its first lead.
  const ids = deps.leadIds ?? leadIds();
  // Check-and-send of the email cap, one at a time per recipient.
  const recipients = new KeyedLock();

  /** A handoff or a reminder through the CRM port, once per key; a dead letter if it fails for good. */
  const toCrm = (input: HandOffToSalesInput | RemindSalesInput) =>
    orDeadLetter('crm', input, () =>
      crm.handOff({
        key: input.idempotencyKey,
        workflowId: input.workflowId,
        leadKey: input.leadKey,
        lead: input.lead,
        handoff: input.handoff,
      }),
    );

  /**
   * Runs a delivery; one that fails for good (a non-retryable answer, or the last attempt a retry
   * policy allows) leaves a dead letter and a metric before the failure goes back to Temporal.
   */
  async function orDeadLetter<T>(
    kind: DeadLetterKind,
    input: EffectInput & object,
    deliver: () => Promise<T>,
  ): Promise<T> {
    try {
      return await deliver();
    } catch (err) {
      const context = activityContext();
      const attempts = context?.info.attempt ?? 0;
      const max = context?.info.retryPolicy?.maximumAttempts ?? 0;
      let code: string;
      let reason: string;
      if (err instanceof PermanentFailure) {
        code = err.code;
        reason = replySummary(err);
      } else if (max > 0 && attempts >= max && err instanceof Error) {
        code = 'retries_exhausted';
        reason = retryableSummary(err);
      } else throw err;
      const letter: DeadLetter = {
        key: input.idempotencyKey,
        kind,
        at: new Date().toISOString(),
        workflowId: input.workflowId,
        leadKey: input.leadKey,
        code,
        reason,
        attempts,
        input: { ...input },
      };
      try {
        if (await outbox.deadLetter(letter)) {
          context?.metricMeter
            .createCounter('leadcycle_dead_letters', 'deliveries', 'deliveries that failed for good')
            .add(1, { kind, code });
        }
      } catch (writeErr) {
        throw new DeadLetterUnwritableError(
          `delivery ${input.idempotencyKey} failed for good (${reason}) and its dead letter could not be written: ${writeErr instanceof Error ? writeErr.message : String(writeErr)}`,
          { cause: writeErr },
        );
      }
      throw err;
    }
  }

  /** The email of a delivery, sent or skipped; thrown on a failure to send. */
  async function sendOrSkip(input: SendContentInput): Promise<SendResult> {
    const delivery = {
      key: input.idempotencyKey,
      workflowId: input.workflowId,
      leadKey: input.leadKey,
      to: input.to,
      content: input.content,
    };
    // Looked up where the message leaves, by address: whichever record of the person (another
    // email lead, a CRM id, one whose consent the machine still thinks granted) asks, a suppressed
    // address gets nothing.
    const consent = (await consentNow(input.workflowId)) ?? input.consent;
    if (consent?.doNotContact) return sender.skip(delivery, 'do_not_contact');
    if (consent && consent.state !== 'granted') return sender.skip(delivery, 'unsubscribed');
    const tenant = tenantOfLeadKey(input.leadKey);
    const suppressed = await suppressionOf(analytics, tenant, input.to.email, ids);
    if (suppressed) return sender.skip(delivery, suppressed.reason);
    const cap = input.emailCap;
    if (!cap) return sender.send(delivery);
    return recipients.run(`${tenant}\n${input.to.email.toLowerCase()}`, async () => {
      // Done before under this key (a retry, e.g. after the outcome's write failed): answer what was
      // done, without counting its own send against the cap. send() answers delivered=false.
      const done = await outbox.recordOf(delivery.key);
      if (done) {
        const reason = skipReasonOf(done);
        return reason === null ? sender.send(delivery) : sender.skip(delivery, reason);
      }
      // The machine's clock may run ahead of the wall (a test server's); never behind it in production.
      const now = Math.max(Date.now(), input.content.at);
      // The machine defers a capped send to the very moment the oldest one leaves the window, and
      // that one really left a little after it was decided: an email late by no more than one
      // attempt does not count at the window's edge. Late by an outage, it does.
      const since = now - cap.windowDays * DAY_MS + ONE_ATTEMPT_MS;
      const sent = await outbox.emailsSentSince(input.leadKey, input.to.email, since);
      return sent.length >= cap.max ? sender.skip(delivery, 'email_cap') : sender.send(delivery);
    });
  }

  /**
   * One attempt the mail server refused for now (or could not be reached): "deferred", keyed by the
   * attempt, so each counts once. Best effort: the send's own failure is what Temporal must see.
   */
  async function recordDeferral(input: SendContentInput): Promise<void> {
    const context = activityContext();
    // Outside Temporal (`leadcycle deliveries retry`) there is no attempt number: the instant stands in.
    const attempt = context ? String(context.info.attempt) : `manual-${Date.now()}`;
    try {
      await analytics.recordEmailOutcome(
        emailOutcome(input, `${input.idempotencyKey}#${attempt}`, 'deferred', null),
      );
    } catch (err) {
      context?.log.warn('could not record a deferred email', {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }

  const activities = {
    /** recorded=false when the key was already there. */
    async recordStageChange(input: RecordStageChangeInput): Promise<{ recorded: boolean }> {
      const { from, to, at, cause, reason, amount, firstTouch, lastTouch, owner } = input.change;
      return analytics.recordStageChange({
        key: input.idempotencyKey,
        // The workflow id, not the lead key: the key holds the email address.
        leadId: input.workflowId,
        seq: effectSeqOf(input.idempotencyKey),
        from,
        to,
        at,
        cause,
        reason,
        amount: amount ?? null,
        tenant: tenantOfKey(input.leadKey),
        // Marketing labels only (TouchSchema): where the lead came from, for the attribution report.
        ...(firstTouch ? { firstTouch } : {}),
        ...(lastTouch ? { lastTouch } : {}),
        // A sales rep's identifier, not the lead's: the SLA report per owner reads it.
        ...(owner !== undefined ? { owner } : {}),
      });
    },

    /**
     * The proof of consent: the change, by its key, and with a do-not-contact the address on the
     * tenant's suppression list (by hash), so no record of the person mails it again.
     */
    async recordConsentChange(input: RecordConsentChangeInput): Promise<{ recorded: boolean }> {
      const { consent, doNotContact, source, at } = input.change;
      const recorded = await analytics.recordConsentChange({
        key: input.idempotencyKey,
        leadId: input.workflowId,
        consent,
        doNotContact,
        source,
        at,
      });
      if (doNotContact && input.address) {
        const tenant = tenantOfLeadKey(input.leadKey);
        await analytics.suppress({
          tenant,
          addressHash: ids.addressHash(tenant, input.address),
          reason: 'do_not_contact',
          at,
        });
      }
      return recorded;
    },

    /** Journals the events a lead accepted, without personal data; recorded counts the new ones. */
    async recordJournal(input: RecordJournalInput): Promise<{ recorded: number }> {
      const leadId = input.workflowId;
      return analytics.recordJournal(
        { leadId, createdAt: input.createdAt, tenant: tenantOfKey(input.leadKey) },
        input.entries.map(({ seq, event }) => ({ leadId, seq, event: redactEvent(event, ids) })),
      );
    },

    /**
     * Several store writes at once, in order (a consent change's suppression entry before anything
     * after it), each keyed as its own activity's: a retry rewrites nothing. recorded counts the
     * changes and journal entries that were new.
     */
    async recordLeadChanges(input: RecordLeadChangesInput): Promise<RecordLeadChangesResult> {
      let recorded = 0;
      for (const change of input.changes) {
        const done =
          change.activity === 'recordStageChange'
            ? await activities.recordStageChange(change.input)
            : await activities.recordConsentChange(change.input);
        if (done.recorded) recorded++;
      }
      if (input.journal) recorded += (await activities.recordJournal(input.journal)).recorded;
      // A local activity's marker keeps its result, not its input: the changes ride in the result so
      // the lead's history still tells them (src/client/timeline.ts). Without the address.
      return {
        recorded,
        changes: input.changes.map(({ activity, input }) => ({ activity, change: input.change })),
      };
    },

    /**
     * delivered=false when already delivered under that key, or when the address is suppressed in
     * its tenant (then `skipped` says why); the Message-ID is the same either way.
     */
    async sendContent(input: SendContentInput): Promise<SendResult> {
      return orDeadLetter('email', input, async () => {
        // Checked here too (the machine's schemas already check form input): no retry can fix a bad address.
        if (!EmailSchema.safeParse(input.to.email).success) {
          throw new PermanentFailure(
            'recipient_invalid',
            // Without the value: it is personal data, and the message goes to Temporal and the log.
            'to.email is not an email address',
          );
        }
        let result: SendResult;
        try {
          result = await sendOrSkip(input);
        } catch (err) {
          if (err instanceof SmtpUnavailableError) await recordDeferral(input);
          throw err;
        }
        // After the send: a write that fails is retried with the delivery, which then sends nothing.
        const skipped = result.skipped ?? null;
        await analytics.recordEmailOutcome(
          emailOutcome(input, input.idempotencyKey, skipped === null ? 'sent' : 'suppressed', skipped),
        );
        return result;
      });
    },

    /**
     * delivered=false when already handed off under that key, or when the person asked not to be
     * contacted after the handoff was queued (the CRM is told that instead, by its own effect).
     */
    async handOffToSales(input: HandOffToSalesInput): Promise<{ delivered: boolean }> {
      if (input.handoff.type === 'sales.handoff') {
        if (input.lead.doNotContact || (await consentNow(input.workflowId))?.doNotContact)
          return { delivered: false };
        // Another record of the person may have said no: sales must not call an address on the list.
        const address = keyAddressOf(input.leadKey) ?? input.lead.profile.email;
        const tenant = tenantOfLeadKey(input.leadKey);
        if (address && (await suppressionOf(analytics, tenant, address, ids))) return { delivered: false };
      }
      return toCrm(input);
    },

    /**
     * The owner of a stale SQL or opportunity is reminded through the CRM port, once per key
     * (delivered=false when done before, or when the person asked for no contact since).
     */
    async remindSales(input: RemindSalesInput): Promise<{ delivered: boolean }> {
      if (input.lead.doNotContact || (await consentNow(input.workflowId))?.doNotContact)
        return { delivered: false };
      return toCrm(input);
    },
  };
  return activities;
}

/**
 * What became of a delivery, for the email report: `sent` (now, or done before under its key),
 * `suppressed` with its reason, or `deferred` (reason null, key per attempt). The item and the
 * pseudonymous lead id only: no address.
 */
function emailOutcome(
  input: SendContentInput,
  key: string,
  outcome: EmailOutcome,
  skipped: SkipReason | null,
): EmailOutcomeRow {
  const { item, at } = input.content;
  return {
    key,
    leadId: input.workflowId,
    tenant: tenantOfKey(input.leadKey),
    itemId: item.id,
    title: item.title,
    outcome,
    skipReason: skipped,
    // The machine's clock may run ahead of the wall (a test server's), as the email cap reads it.
    at: Math.max(Date.now(), at),
  };
}

/** The effect's sequence number: the workflow's keys are `<workflow id>/<sequence>`. */
function effectSeqOf(key: string): number {
  const seq = Number(key.slice(key.lastIndexOf('/') + 1));
  if (!Number.isInteger(seq) || seq < 1) {
    throw new PermanentFailure(
      'bad_effect_key',
      `not a '<workflow id>/<sequence>' key: ${JSON.stringify(key)}`,
    );
  }
  return seq;
}

export type LeadActivities = ReturnType<typeof createActivities>;

/**
 * The activities wired from environment variables (see config.ts): SMTP when LEADCYCLE_SMTP_URL is
 * set, a signed webhook when LEADCYCLE_CRM_WEBHOOK_URL is, the outbox otherwise. Throws SettingsError.
 */
export function activitiesFromEnv(env: NodeJS.ProcessEnv = process.env): {
  activities: LeadActivities;
  /**
   * The store the activities write to: a process that also reports (npm start) reads it too. A
   * fault of it degrades the analytics (its health says which), never the deliveries' start.
   */
  analytics: ServedAnalyticsStore;
  /** The outbox they write to: the API's forget erases from this same instance. */
  outbox: Outbox;
  describe(): string;
  close(): Promise<void>;
} {
  const config = loadActivityConfig(env);
  const outbox = new Outbox(config.dataDir);
  const sender = config.smtp
    ? new SmtpSender(outbox, config.mail, config.smtp)
    : new OutboxSender(outbox, config.mail);
  const crm = config.crmWebhook ? new WebhookCrm(outbox, config.crmWebhook) : new OutboxCrm(outbox);
  // SQLite's spool is drained by the worker: it is the one process that spools (see resilient.ts).
  const analytics = openServedStore(config.dataDir, config.analytics, { drain: true });

  return {
    activities: createActivities({ outbox, sender, crm, analytics }),
    analytics,
    outbox,
    describe: () =>
      [
        config.smtp
          ? `content: SMTP ${redactUrl(config.smtp.url)} from ${mailboxAddress(config.mail.from)} (sent keys kept in ${outbox.file})`
          : `content: outbox ${outbox.file}`,
        config.crmWebhook
          ? `CRM handoff: signed webhook ${redactUrl(config.crmWebhook.url)} (sent keys kept in ${outbox.file})`
          : `CRM handoff: outbox ${outbox.file}`,
        `stage changes and journal: ${analytics.location}`,
      ].join('; '),
    close: async () => {
      await Promise.all([sender.close(), crm.close(), analytics.close()]);
      await outbox.close();
    },
  };
}
