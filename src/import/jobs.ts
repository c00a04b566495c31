/**
 * Imports as jobs, for the HTTP API: a POSTed file runs in the background (the runner's bounded
 * concurrency, its resume state in the data dir), polled by id. The id is the import's own
 * (importIdOf: content, format, mapping, tenant), so POSTing the same file again while it runs
 * answers the running job, and after it stopped resumes it (the rows done are skipped).
 *
 * Jobs live in memory (at most `maxRunning` at once; a finished one kept `ttlMs`); a restart
 * forgets the jobs but not their state files, so the same POST resumes.
 */
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { LeadClient } from '../client/index.js';
import { LeadcycleError } from '../errors.js';
import { ImportError } from './errors.js';
import { type ImportMapping, requiredColumns } from './mapping.js';
import { type ImportFormat, type ImportSource, readRows } from './parse.js';
import type { ReportLine } from './report.js';
import { DEFAULT_IMPORT_CONCURRENCY, type ImportProgress, runImport } from './runner.js';
import { defaultReportOf, importIdOf } from './state.js';

export const DEFAULT_IMPORT_JOBS_RUNNING = 1;
const DEFAULT_TTL_MS = 60 * 60_000;
const MAX_FINISHED_JOBS = 100;
/** Rejected rows a job's view lists (the report file in the data dir has them all). */
export const MAX_LISTED_REJECTIONS = 1000;

export class ImportJobError extends LeadcycleError<'too_many_imports' | 'import_cancelled'> {}

export type ImportJobStatus = 'running' | 'succeeded' | 'failed';

export interface ImportJobView {
  id: string;
  status: ImportJobStatus;
  tenant: string;
  format: ImportFormat;
  createdAt: number;
  finishedAt: number | null;
  progress: ImportProgress;
  /** Rows imported per second, once finished. */
  leadsPerSecond: number | null;
  /** Rejected rows (every run of this import), their line, field and reason; at most MAX_LISTED_REJECTIONS. */
  rejections: ReportLine[];
  rejectionsTruncated: boolean;
  /** Why it stopped (`import_interrupted`: run it again to resume). */
  error: { code: string; message: string } | null;
}

export interface ImportJobsOptions {
  client: LeadClient;
  dataDir: string;
  /** Rows in flight per import. */
  concurrency?: number;
  /** Imports running at once; one more is a too_many_imports. */
  maxRunning?: number;
  ttlMs?: number;
  onBug?: (err: unknown, id: string) => void;
}

interface Job {
  view: ImportJobView;
  abort: AbortController;
  done: Promise<ImportJobView>;
}

export interface StartImport {
  content: string;
  format: ImportFormat;
  mapping: ImportMapping;
  tenant: string;
}

async function rejectionsOf(file: string): Promise<{ lines: ReportLine[]; truncated: boolean }> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const all = text.split('\n').filter((l) => l !== '');
  return {
    lines: all.slice(0, MAX_LISTED_REJECTIONS).map((l) => JSON.parse(l) as ReportLine),
    truncated: all.length > MAX_LISTED_REJECTIONS,
  };
}

export class ImportJobs {
  readonly #jobs = new Map<string, Job>();
  readonly #options: ImportJobsOptions;
  #closed = false;

  constructor(options: ImportJobsOptions) {
    this.#options = options;
  }

  get running(): number {
    return [...this.#jobs.values()].filter((j) => j.view.status === 'running').length;
  }

  /**
   * Checks the file (its header, that it parses) and starts the import, or answers the same import
   * running already. Throws ImportError for a file or mapping to fix, ImportJobError when busy.
   */
  async start(input: StartImport): Promise<ImportJobView> {
    this.#sweep();
    if (this.#closed) throw new ImportJobError('import_cancelled', 'the API is stopping');
    const bytes = Buffer.from(input.content, 'utf8');
    const source: ImportSource = { format: input.format, open: () => Readable.from([bytes]) };
    const id = await importIdOf(source, input.mapping, input.tenant);
    const existing = this.#jobs.get(id);
    if (existing?.view.status === 'running') return existing.view;
    const max = this.#options.maxRunning ?? DEFAULT_IMPORT_JOBS_RUNNING;
    if (this.running >= max) {
      throw new ImportJobError(
        'too_many_imports',
        `${max} import(s) already running, the most at once; retry later`,
      );
    }
    // Refused here, as a 400, rather than as a failed job: a missing column, a CSV that does not parse.
    let total = 0;
    for await (const _ of readRows(source, requiredColumns(input.mapping))) total++;

    const abort = new AbortController();
    const view: ImportJobView = {
      id,
      status: 'running',
      tenant: input.tenant,
      format: input.format,
      createdAt: Date.now(),
      finishedAt: null,
      progress: {
        id,
        total,
        done: 0,
        imported: 0,
        rejected: 0,
        skipped: 0,
        consentGranted: 0,
        consentWithdrawn: 0,
        optInRefused: 0,
      },
      leadsPerSecond: null,
      rejections: [],
      rejectionsTruncated: false,
      error: null,
    };
    const report = defaultReportOf(this.#options.dataDir, id);
    const done = runImport({
      client: this.#options.client,
      source,
      mapping: input.mapping,
      dataDir: this.#options.dataDir,
      tenant: input.tenant,
      concurrency: this.#options.concurrency ?? DEFAULT_IMPORT_CONCURRENCY,
      report,
      id,
      signal: abort.signal,
      onProgress: (p) => {
        view.progress = { ...p };
      },
    })
      .then((summary) => {
        const { report: _, elapsedMs: __, leadsPerSecond, ...progress } = summary;
        view.progress = progress;
        view.leadsPerSecond = leadsPerSecond;
        return 'succeeded' as const;
      })
      .catch((err: unknown) => {
        if (!(err instanceof ImportError)) this.#options.onBug?.(err, id);
        view.error =
          err instanceof ImportError
            ? { code: err.code, message: err.message }
            : { code: 'import_failed', message: 'the import failed unexpectedly; see the API log' };
        return 'failed' as const;
      })
      .then(async (status) => {
        const { lines, truncated } = await rejectionsOf(report);
        view.rejections = lines;
        view.rejectionsTruncated = truncated;
        // Last: "not running" means the runner and its state file are done with.
        view.finishedAt = Date.now();
        view.status = status;
        return view;
      });
    this.#jobs.set(id, { view, abort, done });
    return view;
  }

  get(id: string): ImportJobView | null {
    this.#sweep();
    return this.#jobs.get(id)?.view ?? null;
  }

  /** Resolves once the job has finished (at once for a finished one). */
  async wait(id: string): Promise<ImportJobView | null> {
    return (await this.#jobs.get(id)?.done) ?? null;
  }

  /** Stops every import (the rows in flight finish; their state is kept for a resume). */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#jobs.values()) job.abort.abort();
    await Promise.all([...this.#jobs.values()].map((j) => j.done));
  }

  #sweep(): void {
    const now = Date.now();
    const ttl = this.#options.ttlMs ?? DEFAULT_TTL_MS;
    const finished = [...this.#jobs.values()].filter((j) => j.view.finishedAt !== null);
    finished.forEach((job, i) => {
      const expired = (job.view.finishedAt as number) + ttl <= now;
      if (expired || i < finished.length - MAX_FINISHED_JOBS) this.#jobs.delete(job.view.id);
    });
  }
}
