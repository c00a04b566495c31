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
 * HubSpot's lifecycle-stage dates are its "Became a … Date" properties, its score "HubSpot Score",
 * its last email "Last marketing email send date" (hs_email_last_send_date).
 *
 * The first touch: HubSpot's "Original Source" (hs_analytics_source; its values ORGANIC_SEARCH,
 * PAID_SEARCH, … or their labels "Organic search", "Paid search", …) is the source, in words, and
 * tells the channel; "Original Source Drill-Down 1" is the utm_campaign for the sources whose
 * drill-down HubSpot's "Understand Original and Latest source properties" article says so (email
 * marketing, paid search), else a search term, a domain or "IMPORT", not a campaign. HubSpot keeps
 * no UTM parameters among its default contact properties. Mautic keeps UTM tags in a table of their
 * own (lead_utmtags), not among the contact's fields: its export carries no touch.
 *
 * Columns a preset names but a file lacks are empty; only the key's column is required.
 */
import { IMPORTED_STAGES } from '../machines/index.js';
import { EXPORT_COLUMNS, TOUCH_EXPORT_COLUMNS } from './export.js';
import type { ImportMapping } from './mapping.js';
import { parseMapping } from './mapping.js';

export const PRESET_NAMES = ['hubspot', 'mautic', 'leadcycle'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/** HubSpot's lifecycle stages, by label and by internal value (`marketingqualifiedlead`). */
const HUBSPOT_STAGES = {
  Subscriber: 'lead',
  Lead: 'lead',
  'Marketing Qualified Lead': 'mql',
  marketingqualifiedlead: 'mql',
  'Sales Qualified Lead': 'sql',
  salesqualifiedlead: 'sql',
  Opportunity: 'opportunity',
  Customer: 'customer',
  Evangelist: 'customer',
  Other: 'lead',
} as const;

/**
 * HubSpot's industries (labels, or internal values such as COMPUTER_SOFTWARE: compared as words) in
 * the default personas' sectors; the others import as HubSpot writes them, lowercased.
 */
const HUBSPOT_INDUSTRIES: Record<string, string> = {
  COMPUTER_SOFTWARE: 'software',
  INTERNET: 'software',
  INFORMATION_TECHNOLOGY_AND_SERVICES: 'software',
  COMPUTER_NETWORK_SECURITY: 'software',
  FINANCIAL_SERVICES: 'finance',
  BANKING: 'finance',
  INSURANCE: 'finance',
  INVESTMENT_MANAGEMENT: 'finance',
  RETAIL: 'retail',
  CONSUMER_GOODS: 'retail',
  HOSPITAL_HEALTH_CARE: 'healthcare',
  MEDICAL_DEVICES: 'healthcare',
  PHARMACEUTICALS: 'healthcare',
  MACHINERY: 'manufacturing',
  INDUSTRIAL_AUTOMATION: 'manufacturing',
  AUTOMOTIVE: 'manufacturing',
  ELECTRICAL_ELECTRONIC_MANUFACTURING: 'manufacturing',
  MANAGEMENT_CONSULTING: 'services',
  MARKETING_AND_ADVERTISING: 'services',
  STAFFING_AND_RECRUITING: 'services',
};

/** HubSpot's original sources (internal values; labels compare as the same words) in lowercase words. */
const HUBSPOT_SOURCES: Record<string, string> = {
  ORGANIC_SEARCH: 'organic search',
  PAID_SEARCH: 'paid search',
  EMAIL_MARKETING: 'email marketing',
  SOCIAL_MEDIA: 'organic social',
  'Organic social': 'organic social',
  REFERRALS: 'referrals',
  OTHER_CAMPAIGNS: 'other campaigns',
  DIRECT_TRAFFIC: 'direct traffic',
  OFFLINE: 'offline sources',
  'Offline sources': 'offline sources',
  PAID_SOCIAL: 'paid social',
};

/** The channel each original source is: a visit to the site, but from a social network, a referring site, or offline. */
const HUBSPOT_CHANNELS = {
  ORGANIC_SEARCH: 'web',
  PAID_SEARCH: 'web',
  EMAIL_MARKETING: 'web',
  DIRECT_TRAFFIC: 'web',
  OTHER_CAMPAIGNS: 'web',
  SOCIAL_MEDIA: 'social',
  'Organic social': 'social',
  PAID_SOCIAL: 'social',
  REFERRALS: 'referral',
  OFFLINE: 'other',
  'Offline sources': 'other',
} as const;

export const PRESETS: Record<PresetName, ImportMapping> = {
  hubspot: parseMapping({
    key: 'email',
    tool: 'hubspot',
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
    history: {
      stage: 'Lifecycle Stage',
      stages: HUBSPOT_STAGES,
      createdAt: 'Create Date',
      stageDates: {
        lead: 'Became a Lead Date',
        mql: 'Became a Marketing Qualified Lead Date',
        sql: 'Became a Sales Qualified Lead Date',
        opportunity: 'Became an Opportunity Date',
        customer: 'Became a Customer Date',
      },
      score: 'HubSpot Score',
      owner: 'Contact owner',
      lastEmailAt: 'Last marketing email send date',
    },
    values: { sector: HUBSPOT_INDUSTRIES },
    touch: {
      columns: {
        source: 'Original Source',
        channel: 'Original Source',
        campaign: 'Original Source Drill-Down 1',
      },
      sources: HUBSPOT_SOURCES,
      channels: HUBSPOT_CHANNELS,
      campaignWhenSource: ['EMAIL_MARKETING', 'PAID_SEARCH'],
    },
    properties: ['Record ID', 'Phone Number', 'Lead Status', 'Original Source'],
    consent: {
      column: 'Unsubscribed from all email',
      withdrawn: ['true', 'yes'],
      none: ['false', 'no'],
    },
  }),
  // Mautic's export has no stage, owner or dates among the contact's fields: its points are the score.
  mautic: parseMapping({
    key: 'email',
    tool: 'mautic',
    columns: {
      email: 'email',
      firstName: 'firstname',
      lastName: 'lastname',
      company: 'company',
      jobTitle: 'position',
      country: 'country',
    },
    history: { score: 'points' },
    properties: ['id', 'city', 'state', 'preferred_locale', 'timezone', 'website'],
  }),
  // `leadcycle export` (export.ts): the columns it writes, read back as they were written.
  leadcycle: parseMapping({
    key: 'email',
    tool: 'file',
    columns: {
      email: EXPORT_COLUMNS.email,
      firstName: EXPORT_COLUMNS.firstName,
      lastName: EXPORT_COLUMNS.lastName,
      company: EXPORT_COLUMNS.company,
      jobTitle: EXPORT_COLUMNS.jobTitle,
      sector: EXPORT_COLUMNS.sector,
      jobFunction: EXPORT_COLUMNS.jobFunction,
      country: EXPORT_COLUMNS.country,
      companySize: EXPORT_COLUMNS.companySize,
      annualRevenue: EXPORT_COLUMNS.annualRevenue,
    },
    history: {
      stage: EXPORT_COLUMNS.stage,
      createdAt: EXPORT_COLUMNS.createdAt,
      stageDates: Object.fromEntries(IMPORTED_STAGES.map((stage) => [stage, EXPORT_COLUMNS.stageEnteredAt])),
      score: EXPORT_COLUMNS.score,
      owner: EXPORT_COLUMNS.owner,
      lastEmailAt: EXPORT_COLUMNS.lastEmailAt,
    },
    touch: { columns: TOUCH_EXPORT_COLUMNS },
    consent: {
      column: EXPORT_COLUMNS.consent,
      granted: ['granted'],
      withdrawn: ['withdrawn'],
      none: ['unknown'],
    },
  }),
};
