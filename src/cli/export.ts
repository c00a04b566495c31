/** `leadcycle export` with no person: every lead of a tenant as CSV (src/import/export.ts). */
import { createWriteStream } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { exportLeads } from '../import/index.js';
import { withClient } from './leads.js';
import type { Output } from './output.js';

/** Writes the CSV to `file` (created 0600: it holds names and addresses) or to stdout. */
export async function exportLeadsCsv(out: Output, tenant: string, file: string | undefined): Promise<void> {
  if (file !== undefined) {
    // 0600 before a byte is written, an existing file included (a mode applies only on creation).
    await writeFile(file, '', { mode: 0o600 });
    await chmod(file, 0o600);
  }
  const target = file === undefined ? process.stdout : createWriteStream(file, { flags: 'w' });
  const summary = await withClient((client) => exportLeads({ client, tenant, out: target }));
  if (file !== undefined) {
    target.end();
    await finished(target);
    // The summary goes where the CSV does not.
    out.print({ ...summary, file }, () => `exported ${summary.leads} leads of tenant ${tenant} to ${file}`);
  }
}
