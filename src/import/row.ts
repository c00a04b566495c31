/**
 * One row → what the import sends: the lead's reference and its captures, each with an update id
 * made from the row itself, so a row sent again (a resumed import, a second run over the same file)
 * is the same Temporal update and is applied once. Pure: no I/O.
 *
 * A contact becomes a lead as a form makes one (`form.submitted`, the mapping's form kind, never
 * with the form's consent box). Consent comes only from the mapping's consent column: an opt-in is
 * a `consent.subscribed` after the form, an opt-out a `consent.unsubscribed` before it (so nothing
 * can go out between the two), both with source `import` for the proof of consent.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type LeadRef, leadKeyOf } from '../client/index.js';
import { TenantSchema } from '../client/lead-key.js';
import { type LeadCommandInput, ProfileSchema } from '../machines/index.js';
import type { ImportMapping, ProfileField } from './mapping.js';
import { PROFILE_FIELDS } from './mapping.js';

/** A number cell: `1,200` and `1 200` are 1200 (exports write thousands separators). */
const numberCell = z
  .string()
  .transform((s) => Number(s.replace(/[\s,_]/g, '')))
  .pipe(z.number({ error: 'expected a number' }));

/** One contact of the file, by field: the machine's profile schemas, plus the key and the consent. */
export const ImportedContactSchema = z
  .object({
    email: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.email({ error: 'expected an email address' })),
    externalId: z.string().trim().min(1).max(200).optional(),
    firstName: ProfileSchema.shape.firstName,
    lastName: ProfileSchema.shape.lastName,
    company: ProfileSchema.shape.company,
    jobTitle: ProfileSchema.shape.jobTitle,
    sector: ProfileSchema.shape.sector,
    jobFunction: ProfileSchema.shape.jobFunction,
    country: ProfileSchema.shape.country,
    companySize: numberCell.pipe(z.number().int().nonnegative()).optional(),
    annualRevenue: numberCell.pipe(z.number().nonnegative()).optional(),
  })
  .strict();
export type ImportedContact = z.output<typeof ImportedContactSchema>;

/** Why a row was not imported: the column at fault (as the file names it) and the reason. */
export interface RowIssue {
  field: string;
  reason: string;
}

export interface RowCapture {
  command: LeadCommandInput;
  updateId: string;
}

export type RowOutcome =
  | { ok: true; ref: LeadRef; leadKey: string; captures: RowCapture[] }
  | { ok: false; issues: RowIssue[] };

export type Consent = 'granted' | 'withdrawn' | null;

const normal = (value: string) => value.trim().toLowerCase();

/** The consent a row gives: only from the mapping's column, an empty or `none` cell giving none. */
export function consentOf(
  cells: Record<string, string>,
  mapping: ImportMapping,
): { consent: Consent } | { issue: RowIssue } {
  const rule = mapping.consent;
  if (!rule) return { consent: null };
  const cell = normal(cells[rule.column] ?? '');
  if (cell === '' || rule.none.some((v) => normal(v) === cell)) return { consent: null };
  if (rule.granted.some((v) => normal(v) === cell)) return { consent: 'granted' };
  if (rule.withdrawn.some((v) => normal(v) === cell)) return { consent: 'withdrawn' };
  const known = [...rule.granted, ...rule.withdrawn, ...rule.none].map((v) => JSON.stringify(v));
  return { issue: { field: rule.column, reason: `expected one of ${known.join(', ')} or empty` } };
}

/** The update id of a capture: the row's content, so the same row is the same update. */
function updateIdOf(leadKey: string, command: LeadCommandInput): string {
  const digest = createHash('sha256')
    .update(`${leadKey}\n${JSON.stringify(command)}`)
    .digest('hex');
  return `import-${digest.slice(0, 40)}`;
}

/** A row's cells → the captures to send, or every issue of the row (all at once, not the first). */
export function translateRow(
  cells: Record<string, string>,
  mapping: ImportMapping,
  tenant: string,
): RowOutcome {
  const columnOf = new Map<string, string>([['email', mapping.columns.email]]);
  const candidate: Record<string, string> = {};
  const take = (field: string, column: string | undefined) => {
    if (column === undefined) return;
    columnOf.set(field, column);
    const value = (cells[column] ?? '').trim();
    if (value !== '') candidate[field] = value;
  };
  take('email', mapping.columns.email);
  take('externalId', mapping.columns.externalId);
  for (const field of PROFILE_FIELDS) take(field, mapping.columns[field as ProfileField]);

  const issues: RowIssue[] = [];
  const parsed = ImportedContactSchema.safeParse(candidate);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const field = String(issue.path[0] ?? '');
      const missing = candidate[field] === undefined;
      issues.push({
        field: columnOf.get(field) ?? field,
        reason: missing ? 'required (the cell is empty)' : issue.message,
      });
    }
  }
  if (mapping.key === 'externalId' && candidate.externalId === undefined) {
    issues.push({ field: mapping.columns.externalId as string, reason: 'required (the cell is empty)' });
  }
  const consent = consentOf(cells, mapping);
  if ('issue' in consent) issues.push(consent.issue);
  if (issues.length > 0 || !parsed.success || 'issue' in consent) return { ok: false, issues };

  const { email, externalId, ...rest } = parsed.data;
  const tenantName = TenantSchema.parse(tenant);
  const ref: LeadRef =
    mapping.key === 'email'
      ? { tenant: tenantName, email }
      : { tenant: tenantName, externalId: externalId as string };
  const leadKey = leadKeyOf(ref);
  const form: LeadCommandInput = {
    type: 'form.submitted',
    form: mapping.form,
    profile: { email, ...rest },
    consent: false,
  };
  const commands: LeadCommandInput[] =
    consent.consent === 'granted'
      ? [form, { type: 'consent.subscribed', source: 'import' }]
      : consent.consent === 'withdrawn'
        ? [{ type: 'consent.unsubscribed', source: 'import' }, form]
        : [form];
  return {
    ok: true,
    ref,
    leadKey,
    captures: commands.map((command) => ({ command, updateId: updateIdOf(leadKey, command) })),
  };
}
