/**
 * Import: a generated HubSpot-style contact export (the preset's columns, `rows` contacts, none
 * opted in, so no email is sent) imported through the runner (src/import/runner.ts) against the
 * bench's dev server and worker, as `leadcycle import --preset hubspot` does: leads/s, end to end
 * (the count pass, every capture, the resume state).
 *
 * With `consent`, each row also carries HubSpot's GDPR property "Legal basis for processing
 * contact's data" as "Freely given consent from contact", and the mapping takes consent from that
 * column (a mapping has one consent column; every row's "Unsubscribed from all email" is false): each
 * contact then waits on its first nurture email, spread over the import ramp.
 */
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { LeadClient } from '../src/client/index.js';
import {
  ImportError,
  type ImportMapping,
  type ImportProgress,
  PRESETS,
  runImport,
} from '../src/import/index.js';

export interface ImportBenchOptions {
  rows: number;
  concurrency: number;
  dir: string;
  /** Rows opted in by an explicit consent column (above); without it, none is. */
  consent?: boolean;
  /** Stops reading rows (the scale phase's time budget); what was imported until then is measured. */
  signal?: AbortSignal;
  /** Leads imported so far, after each row (the scale phase samples RSS from it). */
  onImported?: (imported: number) => void;
}

export interface ImportBenchResults {
  rows: number;
  concurrency: number;
  /** Whether the rows carried consent (ImportBenchOptions.consent). */
  consent?: boolean;
  imported: number;
  rejected: number;
  seconds: number;
  leadsPerSecond: number;
  /** Stopped by the caller's signal before the last row. */
  interrupted?: boolean;
}

const HEADER =
  '"Record ID","First Name","Last Name","Email","Company Name","Job Title","Industry","Number of Employees","Lifecycle Stage","Create Date","Contact owner","Unsubscribed from all email"';
const LEGAL_BASIS = "Legal basis for processing contact's data";
const CONSENT_GIVEN = 'Freely given consent from contact';

export function hubspotCsv(rows: number, tag: string, consent = false): string {
  const lines = [consent ? `${HEADER},"${LEGAL_BASIS}"` : HEADER];
  for (let i = 1; i <= rows; i++) {
    const row = `"${i}","First${i}","Last${i}","c${i}.${tag}@bench.example","Company ${i % 500}","Engineer","Computer Software","${(i % 900) + 10}","Lead","2024-01-01 09:00","owner@bench.example","false"`;
    lines.push(consent ? `${row},"${CONSENT_GIVEN}"` : row);
  }
  return `${lines.join('\r\n')}\r\n`;
}

/** The HubSpot preset, with consent from the legal-basis column: what a team that records GDPR consent maps. */
const WITH_CONSENT: ImportMapping = {
  ...PRESETS.hubspot,
  consent: { column: LEGAL_BASIS, granted: [CONSENT_GIVEN], withdrawn: [], none: ['Not applicable'] },
};

export async function runImportBench(
  client: Client,
  taskQueue: string,
  options: ImportBenchOptions,
  log: (line: string) => void,
): Promise<ImportBenchResults> {
  await mkdir(options.dir, { recursive: true });
  const file = join(options.dir, `hubspot-${options.rows}.csv`);
  const tag = Date.now().toString(36);
  const consent = options.consent === true;
  await writeFile(file, hubspotCsv(options.rows, tag, consent));
  log(
    `import: ${options.rows} HubSpot-style rows${consent ? ' with consent' : ''}, concurrency ${options.concurrency}`,
  );
  let last = 0;
  let progress: ImportProgress | undefined;
  const t0 = performance.now();
  const summary = await runImport({
    client: new LeadClient(client, { taskQueue }),
    source: { format: 'csv', open: () => createReadStream(file) },
    mapping: consent ? WITH_CONSENT : PRESETS.hubspot,
    dataDir: options.dir,
    tenant: `bench-${tag}`,
    concurrency: options.concurrency,
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (p) => {
      progress = p;
      options.onImported?.(p.imported);
      if (p.done - last >= Math.max(1000, options.rows / 10)) {
        last = p.done;
        log(`import: ${p.done}/${p.total}`);
      }
    },
  }).catch((err: unknown) => {
    // Stopped by the caller's time budget (not by a failure): what was imported until then is measured.
    const budget = err instanceof ImportError && err.code === 'import_interrupted' && err.cause === undefined;
    if (options.signal?.aborted && budget) return null;
    throw err;
  });
  const elapsedMs = summary?.elapsedMs ?? performance.now() - t0;
  const imported = summary?.imported ?? progress?.imported ?? 0;
  const results = {
    rows: options.rows,
    concurrency: options.concurrency,
    consent,
    imported,
    rejected: summary?.rejected ?? progress?.rejected ?? 0,
    seconds: Math.round(elapsedMs / 100) / 10,
    leadsPerSecond: summary?.leadsPerSecond ?? Math.round((imported / elapsedMs) * 10_000) / 10,
    interrupted: summary === null,
  };
  log(`import: ${results.imported} leads in ${results.seconds} s, ${results.leadsPerSecond} leads/s`);
  return results;
}
