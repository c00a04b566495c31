/** Rows of `email_outcomes` (both stores' table of that name) to the store's `EmailOutcomeRow` and back. */
import { type EmailOutcomeRow, EmailOutcomeRowSchema } from '../records.js';

export interface EmailOutcomeColumns {
  key: string;
  lead_id: string;
  tenant: string | null;
  item_id: string;
  title: string | null;
  outcome: string;
  skip_reason: string | null;
  at: number;
}

export const EMAIL_OUTCOME_COLUMNS = 'key, lead_id, tenant, item_id, title, outcome, skip_reason, at';

export function toEmailOutcomeColumns(row: EmailOutcomeRow): EmailOutcomeColumns {
  const r = EmailOutcomeRowSchema.parse(row);
  return {
    key: r.key,
    lead_id: r.leadId,
    tenant: r.tenant,
    item_id: r.itemId,
    title: r.title,
    outcome: r.outcome,
    skip_reason: r.skipReason,
    at: r.at,
  };
}

/** Parsed: the outcome and reason are enums that may grow, and a report must not show an unknown one. */
export function toEmailOutcomeRow(c: EmailOutcomeColumns): EmailOutcomeRow {
  return EmailOutcomeRowSchema.parse({
    key: c.key,
    leadId: c.lead_id,
    tenant: c.tenant,
    itemId: c.item_id,
    title: c.title,
    outcome: c.outcome,
    skipReason: c.skip_reason,
    at: c.at,
  });
}
