/**
 * A file's rows, streamed: CSV (csv-parse; the first line is the header) or NDJSON (one JSON object
 * a line). Each row comes with its line number and its cells by column name. A row that cannot be
 * read (a CSV row with another number of cells than the header, an NDJSON line that is not an
 * object) comes as `unreadable`, so the rows around it still import; a file CSV cannot parse at all
 * (a stray quote) is an ImportError naming the line.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { ImportError } from './errors.js';

export const IMPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export type SourceRow =
  | { line: number; cells: Record<string, string> }
  | { line: number; unreadable: string; raw: string };

/** Where the rows come from: opened again for each pass (the count, then the import). */
export interface ImportSource {
  format: ImportFormat;
  open(): Readable;
}

/** `.ndjson` / `.jsonl` are NDJSON; anything else is CSV. */
export function formatOf(file: string): ImportFormat {
  return /\.(ndjson|jsonl)$/i.test(file) ? 'ndjson' : 'csv';
}

/** The header's columns; throws ImportError `missing_column` when one of `required` is not among them. */
export function checkHeader(header: readonly string[], required: readonly string[]): void {
  const missing = required.filter((c) => !header.includes(c));
  if (missing.length > 0) {
    throw new ImportError(
      'missing_column',
      `the file has no column ${missing.map((c) => JSON.stringify(c)).join(', ')} (its header: ${header
        .map((c) => JSON.stringify(c))
        .join(', ')})`,
      missing.map((c) => ({ path: [c], message: 'no such column in the header' })),
    );
  }
}

export async function* readRows(
  source: ImportSource,
  required: readonly string[],
): AsyncGenerator<SourceRow> {
  if (source.format === 'csv') yield* csvRows(source.open(), required);
  else yield* ndjsonRows(source.open());
}

async function* csvRows(input: Readable, required: readonly string[]): AsyncGenerator<SourceRow> {
  // Arrays, not objects: a row with too few or too many cells is reported as that row's problem.
  const parser = input.pipe(
    parse({ bom: true, info: true, relax_column_count: true, skip_empty_lines: true }),
  );
  let header: string[] | null = null;
  try {
    for await (const { info, record } of parser as AsyncIterable<{
      info: { lines: number };
      record: string[];
    }>) {
      if (header === null) {
        header = record.map((c) => c.trim());
        checkHeader(header, required);
        continue;
      }
      if (record.length !== header.length) {
        yield {
          line: info.lines,
          unreadable: `expected ${header.length} cells (as the header), found ${record.length}`,
          raw: record.join(','),
        };
        continue;
      }
      const cells: Record<string, string> = {};
      header.forEach((column, i) => {
        cells[column] = record[i] ?? '';
      });
      yield { line: info.lines, cells };
    }
  } catch (err) {
    if (err instanceof ImportError) throw err;
    // csv-parse's messages name the line ("Invalid Opening Quote: … at line 12").
    throw new ImportError('unreadable_file', `the CSV cannot be parsed: ${(err as Error).message}`, [], {
      cause: err,
    });
  } finally {
    input.destroy();
  }
  if (header === null) throw new ImportError('unreadable_file', 'the CSV is empty: not even a header');
}

async function* ndjsonRows(input: Readable): AsyncGenerator<SourceRow> {
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  let line = 0;
  try {
    for await (const text of lines) {
      line++;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        yield { line, unreadable: `not JSON: ${(err as Error).message}`, raw: text };
        continue;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        yield { line, unreadable: 'expected a JSON object of column: value', raw: text };
        continue;
      }
      const cells: Record<string, string> = {};
      for (const [column, cell] of Object.entries(value)) {
        // Cells are text, as in a CSV: numbers and booleans as JSON writes them, null as empty.
        cells[column] =
          cell === null || cell === undefined
            ? ''
            : typeof cell === 'object'
              ? JSON.stringify(cell)
              : String(cell);
      }
      yield { line, cells };
    }
  } finally {
    lines.close();
    input.destroy();
  }
}
