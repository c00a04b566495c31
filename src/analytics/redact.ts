import { type LeadIds, leadIds } from '../client/lead-key.js';
import type { LeadEvent, Profile } from '../machines/index.js';

/**
 * The journal keeps what the machine's guards read and nothing that names a person: names, job
 * title, company name, free-text notes and the sales owner go; the email becomes a placeholder
 * (a form still needs one); other leads are named by workflow id. Persona fields (size, revenue, sector, job function, country), BANT,
 * engagement kinds, consent and amounts stay, so a backtest decides as the live machine did.
 */
export const REDACTED_EMAIL = 'lead@redacted.invalid';

function redactProfile(profile: Profile): Profile {
  const { companySize, annualRevenue, sector, jobFunction, country, email } = profile;
  return {
    ...(email !== undefined ? { email: REDACTED_EMAIL } : {}),
    ...(companySize !== undefined ? { companySize } : {}),
    ...(annualRevenue !== undefined ? { annualRevenue } : {}),
    ...(sector !== undefined ? { sector } : {}),
    ...(jobFunction !== undefined ? { jobFunction } : {}),
    ...(country !== undefined ? { country } : {}),
  };
}

export function redactEvent(event: LeadEvent, ids: LeadIds = leadIds()): LeadEvent {
  switch (event.type) {
    case 'form.submitted':
      return { ...event, profile: { ...redactProfile(event.profile), email: REDACTED_EMAIL } };
    case 'profile.updated':
      return { ...event, profile: redactProfile(event.profile) };
    // Lead keys hold email addresses: the journal names the other lead by its workflow id.
    case 'lead.absorbed':
      return {
        ...event,
        from: ids.workflowIdOf(event.from),
        facts: { ...event.facts, profile: redactProfile(event.facts.profile) },
      };
    case 'lead.merged':
      return { ...event, into: ids.workflowIdOf(event.into) };
    case 'sales.accepted':
      return { ...event, owner: 'redacted' };
    case 'visit': {
      // A page address can carry personal data in its query string.
      const { page: _page, ...rest } = event;
      return rest;
    }
    case 'sales.rejected':
    case 'deal.lost':
    case 'disqualify': {
      const { note: _note, ...rest } = event;
      return rest;
    }
    default:
      return event;
  }
}
