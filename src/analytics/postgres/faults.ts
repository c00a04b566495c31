/** node-postgres failures as the analytics store's typed error, naming the database without its password. */
import { AnalyticsStoreError } from '../sqlite/errors.js';

/** `postgres://user:secret@host/db` -> `postgres://user@host/db`: what logs and errors may name. */
export function redactDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    for (const key of [...parsed.searchParams.keys()]) {
      if (/pass|secret|key/i.test(key)) parsed.searchParams.set(key, '***');
    }
    return parsed.toString();
  } catch {
    return 'the PostgreSQL database (unparsable URL)';
  }
}

/** SQLSTATE classes of a server that is there but refuses: connection, resources, shutdown, auth, no database. */
const UNAVAILABLE_CLASSES = new Set(['08', '53', '57', '58', '28', '3D', '40', 'XX']);

/**
 * A connection or server failure as `unavailable` (Temporal retries the activity; the API answers
 * 503); an AnalyticsStoreError as it is; anything else (a query's bug) rethrown.
 */
export function pgFault(where: string, err: unknown, password: string | null): AnalyticsStoreError {
  if (err instanceof AnalyticsStoreError) return err;
  const code = String((err as { code?: unknown } | null)?.code ?? '');
  const raw = err instanceof Error ? err.message : String(err);
  // A driver message could quote the URL: never let the password through.
  const reason = password ? raw.split(password).join('***') : raw;
  const connection =
    /^E[A-Z]+$/.test(code) ||
    UNAVAILABLE_CLASSES.has(code.slice(0, 2)) ||
    /connect|terminated|timeout|closed|ended/i.test(raw);
  if (connection) {
    return new AnalyticsStoreError(
      'unavailable',
      `${where} cannot be used (${code ? `${code}: ` : ''}${reason})`,
      { cause: err },
    );
  }
  throw err;
}
