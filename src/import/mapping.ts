/**
 * How a file's columns become a lead: one zod schema for the mapping (a preset's, or a
 * `--mapping <file.json>`), types inferred.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { issuesOf } from '../errors.js';
import {
  ChannelSchema,
  IMPORT_SOURCES,
  IMPORTED_STAGES,
  TouchLabelSchema,
  TouchSchema,
} from '../machines/index.js';
import { ImportError } from './errors.js';

const column = z
  .string()
  .min(1)
  .max(200)
  .describe('A column name, as in the file’s header (exact, case-sensitive)');
const values = z
  .array(z.string().trim().min(1).max(100))
  .max(50)
  .default([])
  .describe('Cell values, compared trimmed and case-insensitively');

/** The profile fields a column can fill: the machine's own (ProfileSchema), email apart. */
export const PROFILE_FIELDS = [
  'firstName',
  'lastName',
  'company',
  'jobTitle',
  'sector',
  'jobFunction',
  'country',
  'companySize',
  'annualRevenue',
] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];

export const ImportMappingSchema = z
  .object({
    /** What names the lead: its email (the default; a form by the same person is the same lead) or an external id. */
    key: z.enum(['email', 'externalId']).default('email'),
    /** The tool the file comes from, recorded with each imported lead. */
    tool: z.enum(IMPORT_SOURCES).default('file'),
    columns: z
      .object({
        email: column,
        externalId: column.optional(),
        firstName: column.optional(),
        lastName: column.optional(),
        company: column.optional(),
        jobTitle: column.optional(),
        sector: column.optional(),
        jobFunction: column.optional(),
        country: column.optional(),
        companySize: column.optional(),
        annualRevenue: column.optional(),
      })
      .strict(),
    /**
     * What the other tool recorded of each contact, set on the lead as the file says (one
     * `lead.imported` event, no handoff replayed): its stage (cell values mapped by `stages`; an
     * empty cell, or no column, is `lead`), the dates it was created and entered each stage, its
     * score (on that tool's scale), its owner, and the last marketing email it was sent.
     */
    history: z
      .object({
        stage: column.optional(),
        stages: z
          .record(z.string().trim().min(1).max(100), z.enum(IMPORTED_STAGES))
          .default({})
          .describe('Stage cell values (compared trimmed, case-insensitively) → leadcycle stages'),
        createdAt: column.optional(),
        stageDates: z.partialRecord(z.enum(IMPORTED_STAGES), column).default({}),
        score: column.optional(),
        owner: column.optional(),
        lastEmailAt: column.optional(),
      })
      .strict()
      .prefault({}),
    /**
     * Cell values to leadcycle's: `sector` by industry (compared as words: "COMPUTER_SOFTWARE" and
     * "Computer Software" are one), `companySize` by employee range ("100-500"); values not listed
     * pass as they are (a range as its lower bound).
     */
    values: z
      .object({
        sector: z
          .record(z.string().min(1).max(100), z.string().trim().toLowerCase().min(1).max(100))
          .default({}),
        companySize: z.record(z.string().min(1).max(100), z.number().int().nonnegative()).default({}),
      })
      .strict()
      .prefault({}),
    /**
     * Where the other tool says the contact first came from: the lead's first touch. `columns` by
     * touch field; `sources` and `channels` map the source's and the channel's cells (compared as
     * words) to leadcycle's labels and channels (a source not listed passes as it is, a channel
     * neither listed nor one of leadcycle's is `other`); `campaignWhenSource`, when given, reads
     * the campaign column only on rows whose source cell is one of these (a column that holds a
     * campaign for some sources only). A cell that is no marketing label rejects the row.
     */
    touch: z
      .object({
        columns: z.partialRecord(TouchSchema.keyof(), column).default({}),
        sources: z.record(z.string().min(1).max(100), TouchLabelSchema).default({}),
        channels: z.record(z.string().min(1).max(100), ChannelSchema).default({}),
        campaignWhenSource: z.array(z.string().trim().min(1).max(100)).max(50).optional(),
      })
      .strict()
      .prefault({}),
    /** Columns leadcycle has no field for, kept on the lead as they are (at most 100). */
    properties: z.array(column).max(100).default([]),
    /**
     * Consent from one explicit column only, never inferred: a file (or a row) without it imports
     * the contact without consent. `granted` values opt in, `withdrawn` values opt out (recorded as
     * an unsubscribe, source `import`), `none` values say nothing (an empty cell says nothing too);
     * any other value rejects the row.
     */
    consent: z
      .object({ column, granted: values, withdrawn: values, none: values })
      .strict()
      .refine((c) => c.granted.length + c.withdrawn.length > 0, {
        message: 'give at least one `granted` or `withdrawn` value',
      })
      .optional(),
  })
  .strict()
  .refine((m) => m.key !== 'externalId' || m.columns.externalId !== undefined, {
    path: ['columns', 'externalId'],
    message: 'key "externalId" needs the column of the external id',
  })
  .refine((m) => Object.keys(m.history.stages).length === 0 || m.history.stage !== undefined, {
    path: ['history', 'stage'],
    message: '`stages` maps the values of a stage column: give the column',
  });
export type ImportMapping = z.output<typeof ImportMappingSchema>;
export type ImportMappingInput = z.input<typeof ImportMappingSchema>;

/** A mapping from raw input; an ImportError naming each field that is wrong. */
export function parseMapping(input: unknown): ImportMapping {
  const parsed = ImportMappingSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = issuesOf(parsed.error);
  throw new ImportError(
    'invalid_mapping',
    `invalid mapping: ${issues.map((i) => `${i.path.join('.') || '(mapping)'}: ${i.message}`).join('; ')}`,
    issues,
  );
}

/** A mapping file (JSON). */
export async function loadMappingFile(file: string): Promise<ImportMapping> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ImportError(
      'invalid_mapping',
      `cannot read the mapping file ${file}: ${(err as Error).message}`,
    );
  }
  try {
    return parseMapping(JSON.parse(text));
  } catch (err) {
    if (err instanceof ImportError) throw err;
    throw new ImportError(
      'invalid_mapping',
      `the mapping file ${file} is not JSON: ${(err as Error).message}`,
    );
  }
}

/** The columns a file must have for this mapping: the key's. The others may be absent (empty). */
export function requiredColumns(mapping: ImportMapping): string[] {
  return mapping.key === 'email'
    ? [mapping.columns.email]
    : [mapping.columns.email, mapping.columns.externalId as string];
}
