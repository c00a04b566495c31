import { type LeadIds, leadIds } from '../client/lead-key.js';
import { emailDomain, type LeadEvent, type Profile, pagePath } from '../machines/index.js';

/**
 * The journal keeps what the machine's guards read and nothing that names a person: names, job
 * title, company name, free-text notes and the sales owner go; the email becomes a placeholder at
 * its own domain (a form still needs one, and the profile rules read competitor and free-mail
 * domains); other leads are named by workflow id. Persona fields (size, revenue, sector, job
 * function, country), BANT, engagement kinds, a visit's path (the page rules read it), consent and
 * amounts stay, so a backtest decides as the live machine did.
 */
export const REDACTED_EMAIL = 'lead@redacted.invalid';

/** `lead@` the address's domain: the local part names the person, the domain the company. */
const redactEmail = (email: string) => {
  const domain = emailDomain(email);
  return domain ? `lead@${domain}` : REDACTED_EMAIL;
};

function redactProfile(profile: Profile): Profile {
  const { companySize, annualRevenue, sector, jobFunction, country, email } = profile;
  return {
    ...(email !== undefined ? { email: redactEmail(email) } : {}),
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
      return {
        ...event,
        profile: { ...redactProfile(event.profile), email: redactEmail(event.profile.email) },
      };
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
    // Custom properties are free text (they may name the person): a backtest reads none of them.
    case 'lead.imported': {
      const { owner, properties: _properties, ...rest } = event;
      return {
        ...rest,
        profile: { ...redactProfile(event.profile), email: redactEmail(event.profile.email) },
        ...(owner !== undefined ? { owner: 'redacted' } : {}),
      };
    }
    case 'visit': {
      // A page address can carry personal data in its query string: only the path stays.
      const { page, ...rest } = event;
      return page === undefined ? rest : { ...rest, page: pagePath(page) };
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
