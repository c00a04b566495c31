/**
 * The problem types of the API's errors (RFC 9457): each error code is a type, `/problems/<code>`,
 * with a fixed title. The type is a relative URI: it resolves against the API's own address, where
 * `GET /problems/<code>` answers the type's description (the catalog is the documentation).
 */
import { STATUS_CODES } from 'node:http';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

/** Code → title: the title says what kind of problem it is, never this occurrence's details. */
export const PROBLEM_TITLES = {
  // The request itself
  validation: 'The request does not match its schema',
  invalid_json: 'The body is not valid JSON',
  invalid_request: 'The request is malformed',
  bad_request: 'Bad request',
  unsupported_media_type: 'Unsupported media type',
  payload_too_large: 'The body is too large',
  route_not_found: 'No such route',
  // Who is asking
  unauthorized: 'Missing or invalid credentials',
  tenant_scope: "Outside this API key's tenants",
  missing_signature: 'Missing webhook signature',
  invalid_signature: 'Invalid webhook signature',
  stale_signature: 'Webhook signature outside the tolerance',
  invalid_token: 'Invalid unsubscribe token',
  // The lead and its machine
  not_found: 'No such resource',
  rejected: "The lead's machine refused the command",
  idempotency_key_in_use: 'Idempotency-Key still in use',
  idempotency_key_reused: 'Idempotency-Key reused with another request',
  webhook_replayed: 'Webhook delivery already received',
  no_previous_version: 'No config version to roll back to',
  // Imports
  invalid_mapping: 'Invalid import mapping',
  missing_column: 'The file lacks a column the mapping needs',
  unreadable_file: 'The file cannot be read',
  import_interrupted: 'The import was interrupted',
  import_running: 'The import is already running',
  too_many_imports: 'An import is running',
  // Reports and backtests
  no_data: 'Nothing to chart yet',
  no_leads: 'No leads to replay',
  timer_loop: "The config's timers never advance",
  too_many_backtests: 'Too many backtests running',
  backtest_timeout: 'The backtest took too long',
  backtest_cancelled: 'The backtest was cancelled',
  backtest_failed: 'The backtest failed',
  backtest_not_found: 'No such backtest',
  simulation_busy: 'A simulation is running',
  // The services behind the API
  too_many_requests: 'Temporal is rate-limiting',
  temporal_unavailable: 'Temporal is unavailable',
  worker_unavailable: 'No worker is running',
  replay_cache_full: 'Too many webhook deliveries',
  analytics_unavailable: 'The analytics store is closed',
  analytics_store_corrupt: 'The analytics store is damaged',
  analytics_store_busy: 'The analytics store is locked',
  analytics_store_unavailable: 'The analytics store is unavailable',
  analytics_store_schema_too_new: 'The analytics store is newer than this leadcycle',
  internal: 'Internal error',
  // The codec server (src/codec/server.ts)
  codec: 'The payloads cannot be encoded or decoded',
} as const satisfies Record<string, string>;

export type ProblemCode = keyof typeof PROBLEM_TITLES;

export function isProblemCode(code: string): code is ProblemCode {
  return Object.hasOwn(PROBLEM_TITLES, code);
}

export const problemTypeOf = (code: ProblemCode): string => `/problems/${code}`;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  code: string;
}

/**
 * The body of an error: a catalogued code is its type; any other (a code a job's thread reported
 * that is not catalogued) is `about:blank`, whose title is the HTTP status's (RFC 9457 §4.2.1).
 */
export function problemOf<X extends object>(
  status: number,
  code: string,
  detail: string,
  extensions: X,
  instance?: string,
): Problem & X {
  const known = isProblemCode(code);
  return {
    type: known ? problemTypeOf(code) : 'about:blank',
    title: known ? PROBLEM_TITLES[code] : (STATUS_CODES[status] ?? 'Error'),
    status,
    detail,
    ...(instance !== undefined ? { instance } : {}),
    code,
    ...extensions,
  };
}

/** The catalog as the API serves it. */
export const problemTypes = () =>
  (Object.keys(PROBLEM_TITLES) as ProblemCode[]).map((code) => ({
    type: problemTypeOf(code),
    code,
    title: PROBLEM_TITLES[code],
  }));
