/**
 * One row → what the import sends: the lead's reference and its commands, each with an update id
 * made from the row itself, so a row sent again (a resumed import, a second run over the same file)
 * is the same Temporal update and is applied once. Pure: no I/O.
 *
 * A contact becomes a lead through one `lead.imported` command: its profile, and the stage, dates,
 * score, owner and custom properties the other tool recorded (the mapping's `history`) and its first
 * touch (the mapping's `touch`), never a form and never an email at import. Consent comes only
 * from the mapping's consent column: an opt-in is a `consent.subscribed` after the import, an
 * opt-out a `consent.unsubscribed` before it (so nothing can go out between the two), both with
 * source `import` for the proof of consent.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type LeadRef, leadKeyOf } from '../client/index.js';
import { TenantSchema } from '../client/lead-key.js';
import {
  CHANNELS,
  IMPORTED_STAGES,
  type ImportCommandInput,
  type ImportedStage,
  type LeadCommandInput,
  ProfileSchema,
  type Touch,
  TouchSchema,
} from '../machines/index.js';
import { dateCell, employeesCell, mapped, numberCell, wordsOf } from './cells.js';
import type { ImportMapping, ProfileField } from './mapping.js';
import { PROFILE_FIELDS } from './mapping.js';

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
    companySize: employeesCell.optional(),
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
  command: LeadCommandInput | ImportCommandInput;
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
function updateIdOf(leadKey: string, command: RowCapture['command']): string {
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
  now: number = Date.now(),
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
  // The other tool's values in leadcycle's words (an industry, an employee range).
  if (candidate.sector !== undefined)
    candidate.sector = mapped(mapping.values.sector, candidate.sector) ?? candidate.sector;
  const size =
    candidate.companySize === undefined
      ? undefined
      : mapped(mapping.values.companySize, candidate.companySize);
  if (size !== undefined) candidate.companySize = String(size);

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
  const history = historyOf(cells, mapping, now);
  issues.push(...history.issues);
  const touch = touchOf(cells, mapping);
  issues.push(...touch.issues);
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
  const imported: ImportCommandInput = {
    type: 'lead.imported',
    tool: mapping.tool,
    profile: { email, ...rest },
    ...history.facts,
    ...(touch.touch ? { touch: touch.touch } : {}),
  };
  const commands: RowCapture['command'][] =
    consent.consent === 'granted'
      ? [imported, { type: 'consent.subscribed', source: 'import' }]
      : consent.consent === 'withdrawn'
        ? [{ type: 'consent.unsubscribed', source: 'import' }, imported]
        : [imported];
  return {
    ok: true,
    ref,
    leadKey,
    captures: commands.map((command) => ({ command, updateId: updateIdOf(leadKey, command) })),
  };
}

/** The mapping's `touch` columns of a row: the first touch (none when every cell is empty), or the cells that are no label. */
export function touchOf(
  cells: Record<string, string>,
  mapping: ImportMapping,
): { touch: Touch | undefined; issues: RowIssue[] } {
  const { columns, sources, channels, campaignWhenSource } = mapping.touch;
  const cell = (column: string | undefined) => (column === undefined ? '' : (cells[column] ?? '').trim());
  const candidate: Record<string, string> = {};
  for (const [field, column] of Object.entries(columns)) {
    const value = cell(column);
    if (value !== '') candidate[field] = value;
  }
  const source = candidate.source;
  if (source !== undefined) candidate.source = mapped(sources, source) ?? source;
  // A channel neither listed nor leadcycle's is `other`: attribution is no reason to refuse a contact.
  const channel = candidate.channel;
  if (channel !== undefined)
    candidate.channel = mapped(channels, channel) ?? CHANNELS.find((c) => c === wordsOf(channel)) ?? 'other';
  // A campaign column that holds a campaign for some sources only (HubSpot's drill-down 1).
  if (
    campaignWhenSource &&
    !(source !== undefined && campaignWhenSource.some((v) => wordsOf(v) === wordsOf(source)))
  )
    delete candidate.campaign;
  if (Object.keys(candidate).length === 0) return { touch: undefined, issues: [] };
  const parsed = TouchSchema.safeParse(candidate);
  if (parsed.success) return { touch: parsed.data, issues: [] };
  return {
    touch: undefined,
    issues: parsed.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '') as keyof Touch;
      return { field: columns[field] ?? field, reason: issue.message };
    }),
  };
}

type HistoryFacts = Omit<ImportCommandInput, 'type' | 'tool' | 'profile'> & { stage: ImportedStage };

/** The mapping's `history` columns of a row: the facts for `lead.imported`, or the cells that do not parse. */
function historyOf(
  cells: Record<string, string>,
  mapping: ImportMapping,
  now: number,
): { facts: HistoryFacts; issues: RowIssue[] } {
  const { history } = mapping;
  const issues: RowIssue[] = [];
  const cell = (column: string | undefined) => (column === undefined ? '' : (cells[column] ?? '').trim());
  const parse = <T>(column: string | undefined, schema: z.ZodType<T>): T | undefined => {
    const value = cell(column);
    if (value === '') return undefined;
    const result = schema.safeParse(value);
    if (result.success) return result.data;
    issues.push({ field: column as string, reason: result.error.issues[0]?.message ?? 'invalid' });
    return undefined;
  };

  let stage: ImportedStage = 'lead';
  const stageCell = cell(history.stage);
  if (stageCell !== '') {
    const known =
      mapped(history.stages, stageCell) ?? IMPORTED_STAGES.find((s) => s === stageCell.toLowerCase());
    if (known) stage = known;
    else
      issues.push({
        field: history.stage as string,
        reason: `unknown stage "${stageCell}": expected one of ${[...Object.keys(history.stages), ...IMPORTED_STAGES].map((v) => JSON.stringify(v)).join(', ')}`,
      });
  }
  const date = dateCell(now);
  const createdAt = parse(history.createdAt, date);
  const stageEnteredAt = parse(history.stageDates[stage], date);
  if (createdAt !== undefined && stageEnteredAt !== undefined && stageEnteredAt < createdAt)
    issues.push({ field: history.stageDates[stage] as string, reason: 'before the contact was created' });
  const score = parse(history.score, numberCell);
  const owner = parse(history.owner, z.string().max(200));
  const lastEmailAt = parse(history.lastEmailAt, date);
  const properties: Record<string, string> = {};
  for (const column of mapping.properties) {
    const value = cell(column);
    if (value === '') continue;
    if (value.length > 2000) issues.push({ field: column, reason: 'longer than 2,000 characters' });
    else properties[column.slice(0, 100)] = value;
  }
  return {
    facts: {
      stage,
      ...(createdAt !== undefined ? { createdAt } : {}),
      ...(stageEnteredAt !== undefined ? { stageEnteredAt } : {}),
      ...(score !== undefined ? { score } : {}),
      ...(owner !== undefined ? { owner } : {}),
      ...(lastEmailAt !== undefined ? { lastEmailAt } : {}),
      ...(Object.keys(properties).length > 0 ? { properties } : {}),
    },
    issues,
  };
}
