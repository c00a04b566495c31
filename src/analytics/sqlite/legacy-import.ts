/**
 * Imports the stage changes the JSON Lines store, the previous default, wrote to
 * `<dataDir>/stage-changes.jsonl`: idempotent by key, and skipped when the file has not changed since
 * the last import (recorded in `legacy_imports`).
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { z } from 'zod';
import { StageSchema } from '../../machines/index.js';
import type { StageChangeRow } from '../records.js';
import { AnalyticsStoreError } from './errors.js';
import { forEachLineSync } from './lines-sync.js';

/** Where the JSON Lines stage store, the previous default, wrote its changes. */
export const LEGACY_STAGE_CHANGES_FILE = 'stage-changes.jsonl';

/** Legacy rows per import transaction. */
const IMPORT_BATCH = 1_000;

/** A line of the JSON Lines stage store: only the fields the analytics keep. */
const LegacyStageChangeSchema = z.object({
  key: z.string().min(1),
  leadId: z.string().min(1),
  change: z.object({
    from: StageSchema.nullable(),
    to: StageSchema,
    at: z.number().nonnegative(),
    cause: z.string(),
    reason: z.string().nullable(),
    amount: z.number().nonnegative().optional(),
  }),
});

function legacyRow(json: unknown, lineNo: number): StageChangeRow {
  const parsed = LegacyStageChangeSchema.safeParse(json);
  if (!parsed.success) throw new Error(parsed.error.issues.map((i) => i.message).join('; '));
  const { key, leadId, change } = parsed.data;
  // Keys are `<workflow id>/<sequence>`; a key of another shape still needs a stable order.
  const seq = Number(key.slice(key.lastIndexOf('/') + 1));
  return {
    key,
    leadId,
    seq: Number.isSafeInteger(seq) && seq >= 1 ? seq : lineNo,
    from: change.from,
    to: change.to,
    at: Math.round(change.at),
    cause: change.cause,
    reason: change.reason,
    amount: change.amount ?? null,
  };
}

/**
 * The legacy import behind `SqliteAnalyticsStore.importLegacyStageChanges`: `insert` writes one batch
 * in one transaction and returns how many rows were new. A torn last line (a crash mid-append) is
 * skipped, as the JSON Lines store did.
 */
export function importLegacyFile(
  db: Database.Database,
  insert: (rows: StageChangeRow[]) => number,
  dataDir: string,
  options: { ifChanged?: boolean } = {},
): { imported: number } {
  const file = join(dataDir, LEGACY_STAGE_CHANGES_FILE);
  let stat: { size: number; mtimeMs: number };
  try {
    stat = statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { imported: 0 };
    throw err;
  }
  const mark = { source: LEGACY_STAGE_CHANGES_FILE, size: stat.size, mtimeMs: Math.trunc(stat.mtimeMs) };
  if (options.ifChanged) {
    const seen = db
      .prepare<typeof mark>(
        'SELECT 1 FROM legacy_imports WHERE source = @source AND size = @size AND mtime_ms = @mtimeMs',
      )
      .get(mark);
    if (seen) return { imported: 0 };
  }

  let imported = 0;
  let batch: StageChangeRow[] = [];
  const flush = () => {
    if (batch.length > 0) imported += insert(batch);
    batch = [];
  };
  forEachLineSync(file, (line, lineNo, terminated) => {
    if (line.trim() === '') return;
    let row: StageChangeRow;
    try {
      row = legacyRow(JSON.parse(line), lineNo);
    } catch (err) {
      if (!terminated) return;
      throw new AnalyticsStoreError(
        'legacy_corrupt',
        `${file}:${lineNo}: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    batch.push(row);
    if (batch.length >= IMPORT_BATCH) flush();
  });
  flush();
  db.prepare<typeof mark & { at: string }>(
    `INSERT INTO legacy_imports (source, size, mtime_ms, imported_at) VALUES (@source, @size, @mtimeMs, @at)
     ON CONFLICT (source) DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms,
       imported_at = excluded.imported_at`,
  ).run({ ...mark, at: new Date().toISOString() });
  return { imported };
}
