/**
 * The column names HubSpot's and Mautic's contact exports write, as mappings.
 *
 * HubSpot exports properties under their labels, e.g. "Record ID", "First Name", "Last Name",
 * "Email", "Company Name", "Job Title", "Industry", "Number of Employees", "Annual Revenue",
 * "Country/Region", "Lifecycle Stage", "Create Date", "Contact owner" (a query over an exported
 * "Contacts (HubSpot CRM)" table names these; HubSpot's "Set up your import files" and "How do I
 * import contacts" knowledge-base articles name "Email", "Contact owner", "Lifecycle stage").
 * "Unsubscribed from all email" is the label of hs_email_optout: `true` is an opt-out; `false` says
 * nothing about an opt-in, so it grants nothing (HubSpot keeps opt-ins per subscription type, not
 * in one exported column).
 *
 * Mautic's contact export (mautic/mautic, app/bundles/LeadBundle/Model/ContactExportSchedulerModel.php)
 * writes `$contact->getProfileFields()`: `id` and each contact field by its alias — "firstname",
 * "lastname", "email", "company", "position", "country", "points", … Mautic keeps do-not-contact
 * outside the fields, so the export carries no consent column: its contacts import without consent.
 *
 * Columns a preset names but a file lacks are empty; only the key's column is required.
 */
import type { ImportMapping } from './mapping.js';
import { parseMapping } from './mapping.js';

export const PRESET_NAMES = ['hubspot', 'mautic'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export const PRESETS: Record<PresetName, ImportMapping> = {
  hubspot: parseMapping({
    key: 'email',
    columns: {
      email: 'Email',
      firstName: 'First Name',
      lastName: 'Last Name',
      company: 'Company Name',
      jobTitle: 'Job Title',
      sector: 'Industry',
      companySize: 'Number of Employees',
      annualRevenue: 'Annual Revenue',
      country: 'Country/Region',
    },
    consent: {
      column: 'Unsubscribed from all email',
      withdrawn: ['true', 'yes'],
      none: ['false', 'no'],
    },
  }),
  mautic: parseMapping({
    key: 'email',
    columns: {
      email: 'email',
      firstName: 'firstname',
      lastName: 'lastname',
      company: 'company',
      jobTitle: 'position',
      country: 'country',
    },
  }),
};
