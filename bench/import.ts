/**
 * Import: a generated HubSpot-style contact export (the preset's columns, `rows` contacts, none
 * opted in, so no email is sent) imported through the runner (src/import/runner.ts) against the
 * bench's dev server and worker, as `leadcycle import --preset hubspot` does: leads/s, end to end
 * (the count pass, every capture, the resume state).
 */
import { createReadStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { LeadClient } from '../src/client/index.js';
import { PRESETS, runImport } from '../src/import/index.js';

export interface ImportBenchOptions {
  rows: number;
  concurrency: number;
  dir: string;
}

export interface ImportBenchResults {
  rows: number;
  concurrency: number;
  imported: number;
  rejected: number;
  seconds: number;
  leadsPerSecond: number;
}

const HEADER =
  '"Record ID","First Name","Last Name","Email","Company Name","Job Title","Industry","Number of Employees","Lifecycle Stage","Create Date","Contact owner","Unsubscribed from all email"';

export function hubspotCsv(rows: number, tag: string): string {
  const lines = [HEADER];
  for (let i = 1; i <= rows; i++) {
    lines.push(
      `"${i}","First${i}","Last${i}","c${i}.${tag}@bench.example","Company ${i % 500}","Engineer","Computer Software","${(i % 900) + 10}","Lead","2024-01-01 09:00","owner@bench.example","false"`,
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

export async function runImportBench(
  client: Client,
  taskQueue: string,
  options: ImportBenchOptions,
  log: (line: string) => void,
): Promise<ImportBenchResults> {
  await mkdir(options.dir, { recursive: true });
  const file = join(options.dir, `hubspot-${options.rows}.csv`);
  const tag = Date.now().toString(36);
  await writeFile(file, hubspotCsv(options.rows, tag));
  log(`import: ${options.rows} HubSpot-style rows, concurrency ${options.concurrency}`);
  let last = 0;
  const summary = await runImport({
    client: new LeadClient(client, { taskQueue }),
    source: { format: 'csv', open: () => createReadStream(file) },
    mapping: PRESETS.hubspot,
    dataDir: options.dir,
    tenant: `bench-${tag}`,
    concurrency: options.concurrency,
    onProgress: (p) => {
      if (p.done - last >= Math.max(1000, options.rows / 10)) {
        last = p.done;
        log(`import: ${p.done}/${p.total}`);
      }
    },
  });
  const results = {
    rows: options.rows,
    concurrency: options.concurrency,
    imported: summary.imported,
    rejected: summary.rejected,
    seconds: Math.round(summary.elapsedMs / 100) / 10,
    leadsPerSecond: summary.leadsPerSecond,
  };
  log(`import: ${results.imported} leads in ${results.seconds} s, ${results.leadsPerSecond} leads/s`);
  return results;
}
