/**
 * `leadcycle export`: a tenant's leads as CSV, one row a lead, in the columns the `leadcycle` import
 * preset reads back (presets.ts), so an export round-trips: the profile, stage, dates, score,
 * owner, last email, consent and first touch. The file holds personal data: the CLI writes it 0600.
 */
import type { Writable } from 'node:stream';
import { stringify } from 'csv-stringify/sync';
import { type LeadClient, LeadNotFoundError } from '../client/index.js';
import type { LeadView, Touch } from '../machines/index.js';

/** The export's columns, in order: the leadcycle preset maps each one back. */
export const EXPORT_COLUMNS = {
  email: 'Email',
  externalId: 'External ID',
  firstName: 'First Name',
  lastName: 'Last Name',
  company: 'Company',
  jobTitle: 'Job Title',
  sector: 'Sector',
  jobFunction: 'Job Function',
  country: 'Country',
  companySize: 'Employees',
  annualRevenue: 'Annual Revenue',
  stage: 'Stage',
  createdAt: 'Created',
  stageEnteredAt: 'Stage Entered',
  score: 'Score',
  owner: 'Owner',
  lastEmailAt: 'Last Email',
  consent: 'Consent',
} as const;

/** The lead's first touch, a column a field (an import gives a lead its first touch only). */
export const TOUCH_EXPORT_COLUMNS = {
  source: 'First Touch Source',
  channel: 'First Touch Channel',
  campaign: 'First Touch Campaign',
  form: 'First Touch Form',
  utm_source: 'First Touch UTM Source',
  utm_medium: 'First Touch UTM Medium',
  utm_campaign: 'First Touch UTM Campaign',
  utm_term: 'First Touch UTM Term',
  utm_content: 'First Touch UTM Content',
} as const satisfies Record<keyof Touch, string>;

type Column = keyof typeof EXPORT_COLUMNS;
type TouchColumn = keyof typeof TOUCH_EXPORT_COLUMNS;
const COLUMNS = Object.keys(EXPORT_COLUMNS) as Column[];
const TOUCH_COLUMNS = Object.keys(TOUCH_EXPORT_COLUMNS) as TouchColumn[];

const iso = (ms: number | null | undefined) =>
  ms === null || ms === undefined ? '' : new Date(ms).toISOString();
const cell = (value: string | number | null | undefined) =>
  value === null || value === undefined ? '' : String(value);

/** One lead's row; null for a lead of another tenant. */
export function exportRowOf(
  view: LeadView,
  tenant: string,
): (Record<Column, string> & { touch: Record<TouchColumn, string> }) | null {
  const [keyTenant, kind, ...rest] = view.leadKey.split(':');
  if (keyTenant !== tenant) return null;
  const id = rest.join(':');
  const { context } = view.state;
  const { profile } = context;
  return {
    email: cell(profile.email ?? (kind === 'email' ? id : undefined)),
    externalId: kind === 'ext' ? id : '',
    firstName: cell(profile.firstName),
    lastName: cell(profile.lastName),
    company: cell(profile.company),
    jobTitle: cell(profile.jobTitle),
    sector: cell(profile.sector),
    jobFunction: cell(profile.jobFunction),
    country: cell(profile.country),
    companySize: cell(profile.companySize),
    annualRevenue: cell(profile.annualRevenue),
    stage: view.stage,
    createdAt: iso(context.createdAt),
    stageEnteredAt: iso(context.stageEnteredAt),
    // An imported lead's score is the other tool's; else leadcycle's own.
    score: cell(context.imported?.score ?? view.score),
    owner: cell(view.owner),
    lastEmailAt: iso(context.nurture.lastSentAt),
    consent: view.consent,
    touch: Object.fromEntries(
      TOUCH_COLUMNS.map((field) => [field, cell(view.touches?.first[field])]),
    ) as Record<TouchColumn, string>,
  };
}

export interface ExportSummary {
  tenant: string;
  /** Leads written. */
  leads: number;
  /** Leads of every tenant looked at. */
  scanned: number;
}

/**
 * Writes every running lead of `tenant` to `out` as CSV (the caller ends `out`). A listing names
 * leads by workflow id only (no tenant in the visibility store: no personal data there), so each
 * lead of the client's task queue (the deployment's workers answer it) is asked for its state,
 * `concurrency` at a time, and kept when its key is the tenant's.
 */
export async function exportLeads(options: {
  client: LeadClient;
  tenant: string;
  out: Writable;
  concurrency?: number;
}): Promise<ExportSummary> {
  const { client, tenant } = options;
  const concurrency = options.concurrency ?? 16;
  const write = (line: string) =>
    options.out.write(line) ? Promise.resolve() : new Promise<void>((r) => options.out.once('drain', r));
  await write(stringify([[...Object.values(EXPORT_COLUMNS), ...Object.values(TOUCH_EXPORT_COLUMNS)]]));
  const summary: ExportSummary = { tenant, leads: 0, scanned: 0 };
  let cursor: string | undefined;
  do {
    const page = await client.listPage({ limit: 500, ownTaskQueue: true, ...(cursor ? { cursor } : {}) });
    for (let i = 0; i < page.leads.length; i += concurrency) {
      const views = await Promise.all(
        page.leads.slice(i, i + concurrency).map((l) =>
          // Only a lead closed since the listing is skipped: any other failure stops the export.
          client.getById(l.workflowId).catch((err: unknown) => {
            if (err instanceof LeadNotFoundError) return null;
            throw err;
          }),
        ),
      );
      for (const view of views) {
        if (!view) continue; // closed between the listing and the query
        summary.scanned++;
        const row = exportRowOf(view, tenant);
        if (!row) continue;
        summary.leads++;
        await write(
          stringify([[...COLUMNS.map((column) => row[column]), ...TOUCH_COLUMNS.map((f) => row.touch[f])]]),
        );
      }
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return summary;
}
