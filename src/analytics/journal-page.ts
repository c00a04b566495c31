/** One page of the journal as both stores read it: leads in order, each with its events (a LEFT JOIN). */
import type { LeadEvent } from '../machines/index.js';
import type { JournaledLead } from './records.js';

/** A lead's row joined with one of its journal entries (event null: a lead with none). */
export interface JournalPageRow {
  lead_id: string;
  created_at: number;
  tenant: string | null;
  event: string | null;
}

/** Groups a page's rows, ordered by lead then seq, into one entry a lead. */
export function leadsOfJournalPage(rows: JournalPageRow[]): { lead: JournaledLead; events: LeadEvent[] }[] {
  const leads: { lead: JournaledLead; events: LeadEvent[] }[] = [];
  for (const row of rows) {
    let current = leads.at(-1);
    if (current?.lead.leadId !== row.lead_id) {
      current = {
        lead: {
          leadId: row.lead_id,
          createdAt: row.created_at,
          ...(row.tenant === null ? {} : { tenant: row.tenant }),
        },
        events: [],
      };
      leads.push(current);
    }
    // Our own redacted events, written as validated: parsing them again would dominate a backtest.
    if (row.event !== null) current.events.push(JSON.parse(row.event) as LeadEvent);
  }
  return leads;
}
