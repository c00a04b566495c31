/** `deliveries list|retry`: the dead letters (deliveries that failed for good) and their redelivery. */
import { type Command, InvalidArgumentError, Option } from 'commander';
import { z } from 'zod';
import {
  activitiesFromEnv,
  type ConsentNow,
  DEAD_LETTER_KINDS,
  type DeadLetter,
  type RetryOutcome,
  readDeadLetters,
  retryDeadLetter,
} from '../activities/index.js';
import { connectTemporal, loadLeadIds, useLeadIds } from '../client/index.js';
import { LeadcycleError } from '../errors.js';
import { resolveDataDir } from '../paths.js';
import { stateQuery } from '../workflows/messages.js';
import { parseOptions } from './options.js';
import { type Output, table } from './output.js';

const ListOptionsSchema = z
  .object({ kind: z.enum(DEAD_LETTER_KINDS).optional(), lead: z.string().optional() })
  .strict();
const RetryOptionsSchema = z.object({ all: z.boolean().optional() }).strict();

/** Some dead letters were not delivered by `retry`: they stay, and the command exits 1. */
export class DeliveryRetryError extends LeadcycleError<'delivery_failed'> {
  constructor(readonly failed: RetryOutcome[]) {
    super('delivery_failed', `not delivered: ${failed.map((f) => `${f.key} (${f.detail})`).join('; ')}`);
  }
}

/** Each lead's consent now, from its workflow; null for a lead that cannot be asked (or no Temporal). */
async function consentsOf(letters: DeadLetter[]): Promise<Map<string, ConsentNow>> {
  const answers = new Map<string, ConsentNow>();
  const temporal = await connectTemporal().catch(() => null);
  try {
    for (const { workflowId } of letters) {
      if (answers.has(workflowId)) continue;
      const view = temporal
        ? await temporal.client.workflow
            .getHandle(workflowId)
            .query(stateQuery)
            .catch(() => null)
        : null;
      answers.set(
        workflowId,
        view
          ? { state: view.state.value.consent, doNotContact: view.state.context.consent.doNotContact }
          : null,
      );
    }
  } finally {
    await temporal?.close();
  }
  return answers;
}

export function addDeliveryCommands(program: Command, out: Output): void {
  const deliveries = program
    .command('deliveries')
    .description('deliveries that failed for good (dead letters): list them, deliver them again');

  deliveries
    .command('list')
    .description('the dead letters still open, oldest first')
    .addOption(new Option('--kind <kind>').choices(DEAD_LETTER_KINDS))
    .option('--lead <leadKey>', 'only this lead key')
    .action(async (options: unknown) => {
      const { kind, lead } = parseOptions(ListOptionsSchema, options);
      const letters = await readDeadLetters(resolveDataDir(), { kind, leadKey: lead });
      out.print(letters, () =>
        table(
          letters.map((l) => ({
            at: l.at,
            kind: l.kind,
            key: l.key,
            code: l.code,
            reason: l.reason,
            attempts: l.attempts,
          })),
        ),
      );
    });

  deliveries
    .command('retry')
    .description('deliver dead letters again under their own keys (removed once delivered or no longer due)')
    .argument('[keys...]', 'idempotency keys of the dead letters (see `deliveries list`)')
    .option('--all', 'every open dead letter')
    .action(async (keys: string[], options: unknown) => {
      const { all } = parseOptions(RetryOptionsSchema, options);
      if (!all && keys.length === 0) {
        throw new InvalidArgumentError('name the keys to retry, or pass --all');
      }
      const open = await readDeadLetters(resolveDataDir());
      const unknown = keys.filter((k) => !open.some((l) => l.key === k));
      if (unknown.length) throw new InvalidArgumentError(`no dead letter under ${unknown.join(', ')}`);
      const letters = all ? open : open.filter((l) => keys.includes(l.key));
      const consents = await consentsOf(letters);
      // The deployment's lead ids: the suppression check hashes addresses as the worker does.
      useLeadIds((await loadLeadIds(process.env, { create: false })).ids);
      const effects = activitiesFromEnv();
      const outcomes: RetryOutcome[] = [];
      try {
        for (const letter of letters) {
          outcomes.push(
            await retryDeadLetter(
              effects.activities,
              effects.outbox,
              letter,
              consents.get(letter.workflowId) ?? null,
            ),
          );
        }
      } finally {
        await effects.close();
      }
      out.print(outcomes, () => table(outcomes));
      const failed = outcomes.filter((o) => o.outcome === 'failed');
      if (failed.length) throw new DeliveryRetryError(failed);
    });
}
