/** `forget` and `export`: erasure and access (GDPR) for one person, over src/privacy/. */
import { type Command, InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { Outbox } from '../activities/outbox.js';
import { openStore } from '../analytics/index.js';
import { connectTemporal, loadLeadIds, useLeadIds } from '../client/index.js';
import { resolveDataDir } from '../paths.js';
import { exportPerson, forgetPerson, type PrivacyDeps } from '../privacy/index.js';
import { readSettings } from '../settings.js';
import { exportLeadsCsv } from './export.js';
import { leadRef } from './leads.js';
import { parseOptions, tenantOption } from './options.js';
import type { Output } from './output.js';

const PrivacyOptionsSchema = z.object({ tenant: z.string() }).strict();
const ExportOptionsSchema = z.object({ tenant: z.string(), out: z.string().min(1).optional() }).strict();

async function withDeps<T>(fn: (deps: PrivacyDeps) => Promise<T>): Promise<T> {
  // The deployment's lead ids and address hashes: the person is found as the API would find them.
  const leadIds = useLeadIds((await loadLeadIds(process.env, { create: false })).ids);
  const temporal = await connectTemporal();
  const dataDir = resolveDataDir();
  const store = openStore(dataDir, readSettings());
  const outbox = new Outbox(dataDir);
  try {
    return await fn({ temporal: temporal.client, store, outbox, leadIds });
  } finally {
    await outbox.close();
    await store.close();
    await temporal.close();
  }
}

export function addPrivacyCommands(program: Command, out: Output): void {
  program
    .command('forget')
    .description('erase a person: every run, outbox record and analytics row; the address suppressed')
    .argument('<lead>', 'email or external id')
    .addOption(tenantOption())
    .action(async (lead: string, options: unknown) => {
      const { tenant } = parseOptions(PrivacyOptionsSchema, options);
      const report = await withDeps((deps) => forgetPerson(deps, leadRef(lead, tenant)));
      out.print(report, () =>
        [
          ...report.leads.map(
            (l) =>
              `${l.leadId}: ${l.runsDeleted} runs deleted${l.terminated ? ' (was running)' : ''}, ` +
              `${l.outboxRecordsRemoved} outbox records, ${l.analyticsRowsRemoved} analytics rows removed`,
          ),
          `${report.addressesSuppressed} addresses added to the suppression list`,
        ].join('\n'),
      );
    });

  program
    .command('export')
    .description(
      'everything leadcycle holds on a person, as JSON; with no person, every lead of the tenant as CSV',
    )
    .argument('[lead]', 'email or external id (none: every lead of --tenant, as CSV)')
    .addOption(tenantOption())
    .option('--out <file.csv>', 'with no person: the CSV file to write (0600; default: stdout)')
    .action(async (lead: string | undefined, options: unknown) => {
      const { tenant, out: file } = parseOptions(ExportOptionsSchema, options);
      if (lead === undefined) return exportLeadsCsv(out, tenant, file);
      if (file !== undefined)
        throw new InvalidArgumentError('--out is for the CSV of every lead: give no person');
      const data = await withDeps((deps) => exportPerson(deps, leadRef(lead, tenant)));
      // JSON either way: the export is for the person, not a table.
      out.print(data, () => JSON.stringify(data, null, 2));
    });
}
