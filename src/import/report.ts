/**
 * The rejected rows, one line per issue: line number, field (the file's column) and reason, with
 * the row as read so it can be fixed and imported again. NDJSON, or CSV when the path ends in `.csv`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PRIVATE_FILE_MODE } from '../private-fs.js';
import type { RejectedRow } from './state.js';

export interface ReportLine {
  line: number;
  field: string;
  reason: string;
  row: Record<string, string> | string;
}

export function reportLines(rejected: readonly RejectedRow[]): ReportLine[] {
  return rejected.flatMap((r) =>
    r.issues.map((i) => ({ line: r.line, field: i.field, reason: i.reason, row: r.row })),
  );
}

const csvCell = (value: string) => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

export function renderReport(lines: readonly ReportLine[], format: 'csv' | 'ndjson'): string {
  if (format === 'ndjson') return lines.map((l) => `${JSON.stringify(l)}\n`).join('');
  const rows = lines.map((l) =>
    [String(l.line), l.field, l.reason, typeof l.row === 'string' ? l.row : JSON.stringify(l.row)]
      .map(csvCell)
      .join(','),
  );
  return `${['line,field,reason,row', ...rows].join('\n')}\n`;
}

/** Writes the report (0600: it holds the rows' personal data); `.csv` is CSV, anything else NDJSON. */
export async function writeReport(file: string, rejected: readonly RejectedRow[]): Promise<number> {
  const lines = reportLines(rejected);
  // Not made private: the folder may be the user's own (the working directory); the file is.
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, renderReport(lines, /\.csv$/i.test(file) ? 'csv' : 'ndjson'), {
    mode: PRIVATE_FILE_MODE,
  });
  return lines.length;
}
