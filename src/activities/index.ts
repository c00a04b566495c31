/**
 * The lead workflow's activities: the machine's effects carried out against the outside world.
 *
 * Every activity is safe under at-least-once execution: the workflow passes an idempotency key
 * (workflow id + a sequence number), and a retry with a key already done does nothing and says so.
 * Permanent failures are non-retryable `PermanentFailure`s (an ApplicationFailure whose type is the
 * code); anything else thrown is retried by Temporal.
 */
import { z } from 'zod';
import type { AnalyticsStore } from '../analytics/records.js';
import { redactEvent } from '../analytics/redact.js';
import { openAnalyticsStore } from '../analytics/sqlite/index.js';
import { suppressionOf, tenantOfLeadKey } from '../analytics/suppression.js';
import { type LeadIds, leadIds } from '../client/lead-key.js';
import { type ConsentState, type Effect, keyAddressOf, type LeadEvent } from '../machines/index.js';
import { loadActivityConfig } from './config.js';
import { type ContentSender, OutboxSender, type SendResult, SmtpSender } from './content-sender.js';
import {
  type CrmEffect,
  type CrmHandoff,
  type HandoffLead,
  OutboxCrm,
  redactUrl,
  WebhookCrm,
} from './crm.js';
import { mailboxAddress, type Recipient } from './email.js';
import { PermanentFailure } from './errors.js';
import { Outbox } from './outbox.js';

export * from './config.js';
export * from './content-sender.js';
export * from './crm.js';
export * from './email.js';
export * from './errors.js';
export * from './outbox.js';
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

export interface SendContentInput extends EffectInput {
  to: Recipient;
  content: Extract<Effect, { type: 'content.send' }>;
  /**
   * The lead's consent when the workflow carries the email out (not when it was queued): an email
   * queued behind a slow effect is not sent after an unsubscribe or a do-not-contact.
   */
  consent?: { state: ConsentState; doNotContact: boolean };
}

export interface HandOffToSalesInput extends EffectInput {
  lead: HandoffLead;
  handoff: CrmEffect;
}

const EmailSchema = z.email();

export function createActivities(deps: ActivityDeps) {
  const { sender, crm, analytics } = deps;
  // Resolved now: a worker without a lead id secret fails at start, not at its first lead.
  const ids = deps.leadIds ?? leadIds();
  return {
    /** recorded=false when the key was already there. */
    async recordStageChange(input: RecordStageChangeInput): Promise<{ recorded: boolean }> {
      const { from, to, at, cause, reason, amount } = input.change;
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
        { leadId, createdAt: input.createdAt },
        input.entries.map(({ seq, event }) => ({ leadId, seq, event: redactEvent(event, ids) })),
      );
    },

    /**
     * delivered=false when already delivered under that key, or when the address is suppressed in
     * its tenant (then `skipped` says why); the Message-ID is the same either way.
     */
    async sendContent(input: SendContentInput): Promise<SendResult> {
      // Checked here too (the machine's schemas already check form input): no retry can fix a bad address.
      if (!EmailSchema.safeParse(input.to.email).success) {
        throw new PermanentFailure(
          'recipient_invalid',
          `not an email address: ${JSON.stringify(input.to.email)}`,
        );
      }
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
      if (input.consent?.doNotContact) return sender.skip(delivery, 'do_not_contact');
      if (input.consent && input.consent.state !== 'granted') return sender.skip(delivery, 'unsubscribed');
      const tenant = tenantOfLeadKey(input.leadKey);
      const suppressed = await suppressionOf(analytics, tenant, input.to.email, ids);
      return suppressed ? sender.skip(delivery, suppressed.reason) : sender.send(delivery);
    },

    /**
     * delivered=false when already handed off under that key, or when the person asked not to be
     * contacted after the handoff was queued (the CRM is told that instead, by its own effect).
     */
    async handOffToSales(input: HandOffToSalesInput): Promise<{ delivered: boolean }> {
      if (input.handoff.type === 'sales.handoff') {
        if (input.lead.doNotContact) return { delivered: false };
        // Another record of the person may have said no: sales must not call an address on the list.
        const address = keyAddressOf(input.leadKey) ?? input.lead.profile.email;
        const tenant = tenantOfLeadKey(input.leadKey);
        if (address && (await suppressionOf(analytics, tenant, address, ids))) return { delivered: false };
      }
      return crm.handOff({
        key: input.idempotencyKey,
        workflowId: input.workflowId,
        leadKey: input.leadKey,
        lead: input.lead,
        handoff: input.handoff,
      });
    },
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
  /** The store the activities write to: a process that also reports (npm start) reads it too. */
  analytics: AnalyticsStore;
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
  const analytics = openAnalyticsStore(config.dataDir);

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
        `stage changes and journal: ${analytics.file}`,
      ].join('; '),
    close: async () => {
      await Promise.all([sender.close(), crm.close(), analytics.close()]);
      await outbox.close();
    },
  };
}
