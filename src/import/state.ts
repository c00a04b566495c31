/**
 * An import's resume state: `<dataDir>/imports/<id>.state.ndjson`, one line per row done (imported
 * or rejected), appended as rows finish. A re-run of the same import (same file, mapping and
 * tenant: the same id) skips every line there. A row in flight when the process died is not there
 * and is sent again, with the same update ids (src/import/row.ts), so Temporal applies it once.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../private-fs.js';
import type { ImportMapping } from './mapping.js';
import type { ImportSource } from './parse.js';

export const IMPORTS_DIR = 'imports';

export const RowDoneSchema = z.discriminatedUnion('status', [
  z.object({ line: z.number().int().positive(), status: z.literal('imported') }),
  z.object({
    line: z.number().int().positive(),
    status: z.literal('rejected'),
    issues: z.array(z.object({ field: z.string(), reason: z.string() })),
    /** The row as read (its cells, or the raw text of a row that could not be read): nothing is lost. */
    row: z.union([z.record(z.string(), z.string()), z.string()]),
  }),
]);
export type RowDone = z.infer<typeof RowDoneSchema>;
export type RejectedRow = Extract<RowDone, { status: 'rejected' }>;

/** The import's id: its file's bytes, its format, its mapping and its tenant. */
export async function importIdOf(
  source: ImportSource,
  mapping: ImportMapping,
  tenant: string,
): Promise<string> {
  const hash = createHash('sha256').update(`${source.format}\n${tenant}\n${JSON.stringify(mapping)}\n`);
  for await (const chunk of source.open()) hash.update(chunk as Buffer);
  return `imp-${hash.digest('hex').slice(0, 24)}`;
}

export const stateFileOf = (dataDir: string, id: string) => join(dataDir, IMPORTS_DIR, `${id}.state.ndjson`);
export const defaultReportOf = (dataDir: string, id: string) =>
  join(dataDir, IMPORTS_DIR, `${id}.rejected.ndjson`);

export class ImportState {
  #pending: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    readonly done: Map<number, RowDone>,
    private readonly handle: FileHandle,
  ) {}

  static async open(dataDir: string, id: string): Promise<ImportState> {
    await ensurePrivateDir(join(dataDir, IMPORTS_DIR));
    const file = stateFileOf(dataDir, id);
    const done = new Map<number, RowDone>();
    const handle = await open(file, 'a+', PRIVATE_FILE_MODE);
    const lines = createInterface({
      input: createReadStream(file, { encoding: 'utf8' }),
      crlfDelay: Infinity,
    });
    for await (const text of lines) {
      // A torn last line (a crash mid-append) is skipped: its row is sent again, applied once.
      try {
        const entry = RowDoneSchema.safeParse(JSON.parse(text));
        if (entry.success) done.set(entry.data.line, entry.data);
      } catch {}
    }
    return new ImportState(file, done, handle);
  }

  /** Records a row as done (in order of completion; appends are serialised). */
  record(entry: RowDone): Promise<void> {
    this.done.set(entry.line, entry);
    this.#pending = this.#pending.then(() =>
      this.handle.appendFile(`${JSON.stringify(entry)}\n`).then(() => {}),
    );
    return this.#pending;
  }

  rejected(): RejectedRow[] {
    return [...this.done.values()]
      .filter((e): e is RejectedRow => e.status === 'rejected')
      .sort((a, b) => a.line - b.line);
  }

  async close(): Promise<void> {
    await this.#pending;
    await this.handle.datasync();
    await this.handle.close();
  }
}
