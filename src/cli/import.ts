/** `leadcycle import <file>`: bulk import of contacts (src/import/), with a progress bar on a TTY. */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { type Command, Option } from 'commander';
import { z } from 'zod';
import {
  DEFAULT_IMPORT_CONCURRENCY,
  formatOf,
  IMPORT_FORMATS,
  ImportError,
  type ImportMapping,
  type ImportProgress,
  loadMappingFile,
  MAX_IMPORT_CONCURRENCY,
  PRESET_NAMES,
  PRESETS,
  runImport,
} from '../import/index.js';
import { resolveDataDir } from '../paths.js';
import { withClient } from './leads.js';
import { integer, parseOptions, tenantOption } from './options.js';
import type { Output } from './output.js';
import { progressBar } from './progress.js';

const ImportOptionsSchema = z
  .object({
    preset: z.enum(PRESET_NAMES).optional(),
    mapping: z.string().min(1).optional(),
    format: z.enum(IMPORT_FORMATS).optional(),
    tenant: z.string(),
    concurrency: z.number().int().min(1).max(MAX_IMPORT_CONCURRENCY),
    report: z.string().min(1).optional(),
    progress: z.boolean().optional(),
  })
  .refine((o) => (o.preset === undefined) !== (o.mapping === undefined), {
    path: ['preset'],
    message: 'give either --preset or --mapping',
  });

async function mappingOf(options: z.output<typeof ImportOptionsSchema>): Promise<ImportMapping> {
  return options.mapping ? loadMappingFile(options.mapping) : PRESETS[options.preset as keyof typeof PRESETS];
}

export function addImportCommand(program: Command, out: Output): void {
  program
    .command('import')
    .description('Import contacts from a CSV or NDJSON export (HubSpot, Mautic, or any with a mapping file)')
    .argument('<file>', 'the export: .csv, or .ndjson / .jsonl (one JSON object a line)')
    .addOption(
      new Option('--preset <tool>', 'the column names of this tool’s contact export').choices(PRESET_NAMES),
    )
    .option(
      '--mapping <file.json>',
      'a mapping file: { key, tool, columns, history, values, properties, consent } (see README)',
    )
    .addOption(
      new Option('--format <format>', 'the file’s format (default: by its extension)').choices(
        IMPORT_FORMATS,
      ),
    )
    .addOption(tenantOption())
    .option('--concurrency <n>', 'rows in flight at once', integer, DEFAULT_IMPORT_CONCURRENCY)
    .option('--report <file>', 'where rejected rows go (.csv: CSV, else NDJSON; default: in the data dir)')
    .option('--no-progress', 'no progress bar, even on a terminal')
    .addHelpText(
      'after',
      `
A re-run of the same import (same file, mapping and tenant) skips the rows done: nothing is sent twice.
Consent comes only from the mapping's consent column; without one, every contact imports without consent.`,
    )
    .action(async (file: string, raw: unknown) => {
      const options = parseOptions(ImportOptionsSchema, raw);
      await access(file).catch(() => {
        throw new ImportError('unreadable_file', `no such file: ${file}`);
      });
      const mapping = await mappingOf(options);
      const source = { format: options.format ?? formatOf(file), open: () => createReadStream(file) };
      const bar =
        process.stderr.isTTY && !out.json && options.progress !== false
          ? progressBar(
              'import |{bar}| {value}/{total} rows | {rate} leads/s | ETA {eta_formatted} | {rejected} rejected',
            )
          : null;
      const started = Date.now();
      const payload = (p: ImportProgress) => ({
        rejected: p.rejected,
        rate: (p.imported / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(0),
      });
      const summary = await withClient((client) =>
        runImport({
          client,
          source,
          mapping,
          dataDir: resolveDataDir(),
          tenant: options.tenant,
          concurrency: options.concurrency,
          ...(options.report ? { report: options.report } : {}),
          onStart: (p) => bar?.start(p.total, p.done, payload(p)),
          onProgress: (p) => bar?.update(p.done, payload(p)),
        }),
      ).finally(() => bar?.stop());
      out.print(summary, () =>
        [
          `import ${summary.id}: ${summary.imported} imported, ${summary.rejected} rejected, ${summary.skipped} already done (of ${summary.total} rows)`,
          `consent: ${summary.consentGranted} granted, ${summary.consentWithdrawn} withdrawn by the file` +
            (summary.optInRefused
              ? `, ${summary.optInRefused} opt-ins not applied (withdrawn in leadcycle)`
              : ''),
          `${summary.leadsPerSecond} leads/s over ${(summary.elapsedMs / 1000).toFixed(1)} s`,
          summary.report ? `rejected rows: ${summary.report}` : 'no rejected rows',
        ].join('\n'),
      );
    });
}
