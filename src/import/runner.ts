/**
 * Runs an import: reads the file once to count its rows (and to refuse an unreadable one before
 * anything is sent), then streams it again, `concurrency` rows in flight, each row's captures in
 * order (LeadClient.importContact, then a consent command) with the row's update ids. Rows done are recorded in the resume
 * state as they finish; rejected rows go to the report with their line, field and reason.
 *
 * A row's own problem (a field that does not validate, a lead whose stage refuses it) rejects that
 * row only. Anything else (Temporal unreachable, a timeout) stops the import: the rows in flight
 * finish, the state is kept, and a re-run resumes where it stopped.
 */
import { performance } from 'node:perf_hooks';
import {
  type LeadClient,
  LeadCommandRejectedError,
  type LeadRef,
  LeadValidationError,
} from '../client/index.js';
import { TenantSchema } from '../client/lead-key.js';
import type { LeadView } from '../machines/index.js';
import { ImportError } from './errors.js';
import { type ImportMapping, requiredColumns } from './mapping.js';
import { type ImportSource, readRows } from './parse.js';
import { writeReport } from './report.js';
import { type RowCapture, type RowIssue, translateRow } from './row.js';
import { defaultReportOf, ImportState, importIdOf, type RowDone } from './state.js';

export const DEFAULT_IMPORT_CONCURRENCY = 16;
export const MAX_IMPORT_CONCURRENCY = 256;

export interface ImportProgress {
  id: string;
  /** Rows in the file (the header and blank lines apart). */
  total: number;
  /** Rows finished in this run or an earlier one. */
  done: number;
  /** Imported in this run. */
  imported: number;
  /** Rejected in this run. */
  rejected: number;
  /** Done in an earlier run of the same import: skipped, nothing sent. */
  skipped: number;
  /** Imported with consent granted / withdrawn by the file's consent column (this run). */
  consentGranted: number;
  consentWithdrawn: number;
  /** Rows whose opt-in was not applied: the lead had already withdrawn its consent in leadcycle. */
  optInRefused: number;
}

export interface ImportSummary extends ImportProgress {
  /** Where the rejected rows of every run of this import are (null: none). */
  report: string | null;
  elapsedMs: number;
  /** Rows imported per second in this run. */
  leadsPerSecond: number;
}

export interface RunImportOptions {
  client: LeadClient;
  source: ImportSource;
  mapping: ImportMapping;
  /** The data dir: the resume state goes in `<dataDir>/imports/`. */
  dataDir: string;
  tenant?: string;
  concurrency?: number;
  /** The report's path (`.csv`: CSV, else NDJSON); default `<dataDir>/imports/<id>.rejected.ndjson`. */
  report?: string;
  /** The import's id, when the caller computed it already (importIdOf). */
  id?: string;
  onStart?: (progress: ImportProgress) => void;
  onProgress?: (progress: ImportProgress) => void;
  /** Aborting stops sending; the rows in flight finish and the state is kept (ImportError import_interrupted). */
  signal?: AbortSignal;
}

/** A capture error that is the row's own: the row is rejected, the import goes on. */
function rowIssuesOf(err: unknown, mapping: ImportMapping): RowIssue[] | null {
  if (err instanceof LeadValidationError) {
    return err.issues.map((i) => {
      const [head, field] = i.path;
      const column =
        head === 'profile' && field !== undefined
          ? (mapping.columns as Record<string, string | undefined>)[field]
          : undefined;
      return { field: column ?? (i.path.join('.') || '(row)'), reason: i.message };
    });
  }
  if (err instanceof LeadCommandRejectedError) return [{ field: '(lead)', reason: err.message }];
  return null;
}

/** Attempts of one capture before a failure that is not the row's stops the import. */
const CAPTURE_ATTEMPTS = 5;

/**
 * One capture, retried on a failure that is not the row's (an update RPC past its deadline while
 * the worker is busy, Temporal briefly away): safe, the update id makes a retry the same update.
 */
async function captureWithRetry(
  client: LeadClient,
  ref: LeadRef,
  capture: RowCapture,
  mapping: ImportMapping,
): Promise<LeadView> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { command, updateId } = capture;
      return command.type === 'lead.imported'
        ? await client.importContact(ref, command, { updateId })
        : await client.capture(ref, command, { updateId });
    } catch (err) {
      if (rowIssuesOf(err, mapping) !== null || attempt >= CAPTURE_ATTEMPTS) throw err;
      await new Promise((r) => setTimeout(r, 500 * 2 ** attempt));
    }
  }
}

/** Sends a row's captures in order; an opt-in is not applied to a lead that withdrew its consent. */
async function sendRow(
  client: LeadClient,
  ref: LeadRef,
  captures: readonly RowCapture[],
  mapping: ImportMapping,
): Promise<{ optInRefused: boolean }> {
  let consent: string | undefined;
  for (const capture of captures) {
    // Someone who said no in leadcycle (a link, the API) is not opted in again by an older export.
    if (capture.command.type === 'consent.subscribed' && consent === 'withdrawn')
      return { optInRefused: true };
    const view = await captureWithRetry(client, ref, capture, mapping);
    consent = view.consent;
  }
  return { optInRefused: false };
}

export async function runImport(options: RunImportOptions): Promise<ImportSummary> {
  const { client, source, mapping } = options;
  const tenant = TenantSchema.parse(options.tenant ?? 'default');
  const concurrency = Math.min(
    MAX_IMPORT_CONCURRENCY,
    Math.max(1, Math.floor(options.concurrency ?? DEFAULT_IMPORT_CONCURRENCY)),
  );
  const required = requiredColumns(mapping);
  const id = options.id ?? (await importIdOf(source, mapping, tenant));

  // First pass: the count (for the progress and its ETA), and an unreadable file refused up front.
  let total = 0;
  for await (const _ of readRows(source, required)) total++;

  const state = await ImportState.open(options.dataDir, id);
  const progress: ImportProgress = {
    id,
    total,
    done: 0,
    imported: 0,
    rejected: 0,
    skipped: 0,
    consentGranted: 0,
    consentWithdrawn: 0,
    optInRefused: 0,
  };
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  let failure: unknown = null;
  const finish = async (entry: RowDone) => {
    await state.record(entry);
    progress.done++;
    if (entry.status === 'imported') progress.imported++;
    else progress.rejected++;
    options.onProgress?.(progress);
  };

  options.onStart?.(progress);
  try {
    for await (const row of readRows(source, required)) {
      if (failure !== null || options.signal?.aborted) break;
      if (state.done.has(row.line)) {
        progress.skipped++;
        progress.done++;
        options.onProgress?.(progress);
        continue;
      }
      if ('unreadable' in row) {
        await finish({
          line: row.line,
          status: 'rejected',
          issues: [{ field: '(row)', reason: row.unreadable }],
          row: row.raw,
        });
        continue;
      }
      const outcome = translateRow(row.cells, mapping, tenant);
      if (!outcome.ok) {
        await finish({ line: row.line, status: 'rejected', issues: outcome.issues, row: row.cells });
        continue;
      }
      while (inFlight.size >= concurrency) await Promise.race(inFlight);
      if (failure !== null) break;
      const task = (async () => {
        try {
          const sent = await sendRow(client, outcome.ref, outcome.captures, mapping);
          const types = outcome.captures.map((c) => c.command.type);
          if (sent.optInRefused) progress.optInRefused++;
          else if (types.includes('consent.subscribed')) progress.consentGranted++;
          if (types.includes('consent.unsubscribed')) progress.consentWithdrawn++;
          await finish({ line: row.line, status: 'imported' });
        } catch (err) {
          const issues = rowIssuesOf(err, mapping);
          if (issues) await finish({ line: row.line, status: 'rejected', issues, row: row.cells });
          else failure ??= err;
        }
      })();
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task));
    }
  } catch (err) {
    failure ??= err;
  }
  await Promise.all(inFlight);
  await state.close();

  const rejected = state.rejected();
  const report = rejected.length > 0 ? (options.report ?? defaultReportOf(options.dataDir, id)) : null;
  if (report) await writeReport(report, rejected);
  if (failure === null && options.signal?.aborted) {
    failure = new ImportError('import_interrupted', 'the import was cancelled; run it again to resume');
  }
  if (failure !== null) {
    if (failure instanceof ImportError) throw failure;
    throw new ImportError(
      'import_interrupted',
      `the import stopped after ${progress.done} of ${total} rows: ${(failure as Error).message ?? failure}; ` +
        'run it again to resume (rows done are skipped, nothing is sent twice)',
      [],
      { cause: failure },
    );
  }
  const elapsedMs = performance.now() - started;
  return {
    ...progress,
    report,
    elapsedMs: Math.round(elapsedMs),
    leadsPerSecond: elapsedMs > 0 ? Math.round((progress.imported / elapsedMs) * 1000 * 10) / 10 : 0,
  };
}
