/** `outbox`: what the default sender and CRM handoff delivered to the data dir's outbox. */
import { type Command, Option } from 'commander';
import { z } from 'zod';
import { OUTBOX_KINDS, readOutbox } from '../activities/index.js';
import { resolveDataDir } from '../paths.js';
import { integer, parseOptions } from './options.js';
import { type Output, table } from './output.js';

const OutboxOptionsSchema = z
  .object({ kind: z.enum(OUTBOX_KINDS).optional(), lead: z.string().optional(), limit: z.number() })
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
  program
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
}
