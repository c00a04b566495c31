/** `outbox`: what the default sender and CRM handoff delivered to the data dir's outbox. */
import { type Command, Option } from 'commander';
import { z } from 'zod';
import { OUTBOX_KINDS, Outbox, readOutbox } from '../activities/index.js';
import { pruneOutbox } from '../activities/outbox-retention.js';
import { dataDirOf, resolveDataDir } from '../paths.js';
import { readSettings } from '../settings.js';
import { integer, parseOptions } from './options.js';
import { type Output, table } from './output.js';

const OutboxOptionsSchema = z
  .object({ kind: z.enum(OUTBOX_KINDS).optional(), lead: z.string().optional(), limit: z.number() })
  .strict();

/** `30d`: whole days, at least one (the retention's own floor: see src/activities/outbox-retention.ts). */
const PruneOptionsSchema = z
  .object({
    olderThan: z
      .string()
      .regex(/^\d+d$/, 'must be a number of days like 30d')
      .transform((s) => Number.parseInt(s, 10))
      .pipe(z.number().int().min(1, 'must be at least 1d'))
      .optional(),
  })
  .strict();

/** The parts of a payload the table names: the content sent (or skipped, and why), or the CRM handoff. */
const PayloadSummarySchema = z.looseObject({
  content: z.looseObject({ item: z.looseObject({ id: z.string() }).optional() }).optional(),
  reason: z.string().optional(),
  handoff: z.looseObject({ escalation: z.boolean() }).optional(),
});

function whatOf(payload: unknown): string {
  const p = PayloadSummarySchema.safeParse(payload);
  if (!p.success) return '';
  const item = p.data.content?.item?.id;
  if (item !== undefined) return p.data.reason ? `${item} (not sent: ${p.data.reason})` : item;
  return p.data.handoff ? (p.data.handoff.escalation ? 'SLA escalation' : 'handoff') : '';
}

export function addOutboxCommand(program: Command, out: Output): void {
  const outbox = program
    .command('outbox')
    .description('show what the default sender and CRM handoff delivered to the local outbox')
    .addOption(new Option('--kind <kind>').choices(OUTBOX_KINDS))
    .option('--lead <leadKey>', 'only this lead key (tenant:email:address or tenant:ext:id)')
    .option('--limit <n>', 'the latest n records', integer, 20)
    .action(async (options: unknown) => {
      const { kind, lead, limit } = parseOptions(OutboxOptionsSchema, options);
      const records = await readOutbox(resolveDataDir(), { kind, leadKey: lead, limit });
      out.print(records, () =>
        table(records.map((r) => ({ at: r.at, kind: r.kind, lead: r.leadKey, what: whatOf(r.payload) }))),
      );
    });

  outbox
    .command('prune')
    .description(
      'remove the records and dead letters older than the retention (LEADCYCLE_OUTBOX_RETENTION_DAYS, 90 by default); the worker does it daily',
    )
    .option('--older-than <days>', 'another age than the retention, in days (30d)')
    .action(async (options: unknown) => {
      const { olderThan } = parseOptions(PruneOptionsSchema, options);
      const settings = readSettings();
      const days = olderThan ?? settings.LEADCYCLE_OUTBOX_RETENTION_DAYS;
      const box = new Outbox(dataDirOf(settings));
      try {
        const result = { ...(await pruneOutbox(box, days)), olderThanDays: days, file: box.file };
        out.print(
          result,
          () =>
            `pruned ${result.removed} records and ${result.deadLetters} dead letters recorded before ${result.before} (older than ${days} days) from ${box.file}`,
        );
      } finally {
        await box.close();
      }
    });
}
