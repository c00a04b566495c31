/**
 * Every error the API answers is an RFC 9457 problem (`application/problem+json`):
 * `{ type, title, status, detail, instance, code, issues?, rejection? }`, its types in ./problems.ts.
 *
 * The rule: 400 when the request does not parse or does not match its schema (the issues name each
 * field), 409 when it matches but the lead's machine refuses it in its current stage (with the
 * machine's rejection), 422 only for an Idempotency-Key reused with another request. Temporal
 * unreachable is 503; no bad input ever yields a 5xx, and no answer carries a stack trace.
 */
import {
  isGrpcServiceError,
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { AnalyticsStoreError } from '../analytics/sqlite/errors.js';
import { LeadCommandRejectedError, LeadNotFoundError, LeadValidationError } from '../client/errors.js';
import { type FieldIssue, LeadcycleError } from '../errors.js';
import type { Rejection } from '../machines/index.js';
import { PROBLEM_CONTENT_TYPE, type Problem, problemOf } from './problems.js';

export type IssueLocation = 'body' | 'querystring' | 'params' | 'headers';

export interface ApiIssue {
  in?: IssueLocation;
  path: string;
  message: string;
}

export type ApiErrorBody = Problem & { issues?: ApiIssue[]; rejection?: Rejection };

/** An error with its HTTP answer decided: thrown by hooks and handlers, rendered by the error handler. */
export class ApiError extends LeadcycleError {
  constructor(
    readonly statusCode: number,
    code: string,
    message: string,
    readonly extra: {
      issues?: ApiIssue[];
      rejection?: Rejection;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(code, message);
  }
}

export interface RenderedError {
  status: number;
  body: ApiErrorBody;
  headers: Record<string, string>;
}

const GRPC = {
  CANCELLED: 1,
  DEADLINE_EXCEEDED: 4,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  UNAVAILABLE: 14,
} as const;

/** Zod issues as reported by fastify-type-provider-zod, unions and unknown keys flattened to fields. */
interface RawIssue {
  code?: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
  errors?: RawIssue[][];
}

/** One raw issue as the fields at fault: an unknown key is its own field, a union its closest branches. */
function flatten(issue: RawIssue, prefix: string[] = []): FieldIssue[] {
  const path = [...prefix, ...issue.path.map(String)];
  if (issue.code === 'unrecognized_keys' && issue.keys?.length) {
    // One issue per unknown key, at the key's own path.
    return issue.keys.map((key) => ({ path: [...path, key], message: `unknown field "${key}"` }));
  }
  if (issue.code === 'invalid_union' && issue.errors && issue.errors.length > 0) {
    // The branches that came closest (fewest issues) explain the failure best.
    const fewest = Math.min(...issue.errors.map((branch) => branch.length));
    const best = issue.errors.filter((branch) => branch.length === fewest);
    const flat = best.flatMap((branch) => branch.flatMap((i) => flatten(i, path)));
    if (flat.length > 0) return flat;
  }
  return [{ path, message: issue.message }];
}

/** Field issues on the wire: dotted paths, where in the request, each (path, message) once. */
function apiIssuesOf(issues: FieldIssue[], location?: IssueLocation): ApiIssue[] {
  const seen = new Set<string>();
  const out: ApiIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.join('.');
    const key = `${path}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...(location ? { in: location } : {}), path, message: issue.message });
  }
  return out;
}

/** The 400 answer for input that does not match its schema; `issues` names each field. */
export function validationError(issues: FieldIssue[], location?: IssueLocation): ApiError {
  const apiIssues = apiIssuesOf(issues, location);
  const message = apiIssues.map((i) => `${i.path || `(${i.in ?? 'request'})`}: ${i.message}`).join('; ');
  return new ApiError(400, 'validation', message, { issues: apiIssues });
}

/** True when the failure says Temporal (or the lead's worker) could not be reached in time. */
export function isTemporalUnavailable(err: unknown): boolean {
  if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) return true;
  const grpc = err instanceof ServiceError ? err.cause : err;
  if (isGrpcServiceError(grpc)) {
    return (
      grpc.code === GRPC.UNAVAILABLE || grpc.code === GRPC.DEADLINE_EXCEEDED || grpc.code === GRPC.CANCELLED
    );
  }
  return false;
}

/** A query to a lead whose workers are all down: Temporal answers FAILED_PRECONDITION "no poller seen". */
export function isWorkerUnavailable(err: unknown): boolean {
  const grpc = err instanceof ServiceError ? err.cause : err;
  return (
    isGrpcServiceError(grpc) &&
    grpc.code === GRPC.FAILED_PRECONDITION &&
    /no poller/i.test(grpc.details ?? '')
  );
}

function isResourceExhausted(err: unknown): boolean {
  const grpc = err instanceof ServiceError ? err.cause : err;
  return isGrpcServiceError(grpc) && grpc.code === GRPC.RESOURCE_EXHAUSTED;
}

interface FastifyLikeError {
  code?: string;
  statusCode?: number;
  message?: string;
  validation?: unknown;
  validationContext?: string;
}

const FASTIFY_CODES: Record<string, { status: number; code: string; message?: string }> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: 'unsupported_media_type',
    message: 'send the body as application/json',
  },
  FST_ERR_CTP_INVALID_TYPE: { status: 415, code: 'unsupported_media_type', message: 'invalid Content-Type' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'payload_too_large' },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    status: 400,
    code: 'invalid_json',
    message: 'the body is empty but Content-Type is application/json',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'invalid_request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'invalid_json', message: 'the body is not valid JSON' },
};

/** Input refused by a schema (fastify's validation of the request, or the client's of the command) as a 400. */
function asValidationError(err: unknown): ApiError | undefined {
  if (hasZodFastifySchemaValidationErrors(err)) {
    const location = (err as FastifyLikeError).validationContext as IssueLocation | undefined;
    const raw = err.validation.map((v) => ({
      ...(v.params as Omit<RawIssue, 'path' | 'message'>),
      code: v.keyword,
      path: v.instancePath
        .split('/')
        .slice(1)
        .filter((p) => p !== ''),
      message: v.message ?? 'invalid',
    }));
    return validationError(
      raw.flatMap((i) => flatten(i)),
      location,
    );
  }
  if (err instanceof LeadValidationError) return validationError(err.issues, 'body');
  return undefined;
}

const STORE_FAULT_TEXT: Partial<Record<AnalyticsStoreError['code'], string>> = {
  busy: 'locked by another process',
  corrupt: 'damaged',
  unavailable: 'unavailable',
  schema_too_new: 'newer than this leadcycle',
};
const STORE_FAULTS: ReadonlySet<string> = new Set(Object.keys(STORE_FAULT_TEXT));

/** Turns anything thrown while serving a request into its problem; `instance` is the request's path. */
export function renderError(err: unknown, bodyLimit: number, instance?: string): RenderedError {
  const rendered = (status: number, code: string, message: string, extra: ApiError['extra'] = {}) => ({
    status,
    headers: extra.headers ?? {},
    body: problemOf(
      status,
      code,
      message,
      {
        ...(extra.issues ? { issues: extra.issues } : {}),
        ...(extra.rejection ? { rejection: extra.rejection } : {}),
      },
      instance,
    ),
  });

  const decided = err instanceof ApiError ? err : asValidationError(err);
  if (decided) return rendered(decided.statusCode, decided.code, decided.message, decided.extra);

  if (err instanceof LeadCommandRejectedError) {
    return rendered(409, 'rejected', err.rejection.message, { rejection: err.rejection });
  }
  if (err instanceof LeadNotFoundError || err instanceof WorkflowNotFoundError) {
    return rendered(404, 'not_found', 'no such lead: capture it first (POST /v1/leads/capture)');
  }
  // A store fault is the store's, not the request's: a 503 naming it (`analytics_store_corrupt`…).
  if (err instanceof AnalyticsStoreError && STORE_FAULTS.has(err.code)) {
    return rendered(
      503,
      `analytics_store_${err.code}`,
      `the analytics store is ${STORE_FAULT_TEXT[err.code]}: ${err.message}`,
      {
        headers: { 'retry-after': '5' },
      },
    );
  }
  if (isTemporalUnavailable(err)) {
    return rendered(503, 'temporal_unavailable', 'Temporal did not answer in time; retry later', {
      headers: { 'retry-after': '5' },
    });
  }
  if (isWorkerUnavailable(err)) {
    return rendered(503, 'worker_unavailable', 'no worker is running for this lead right now; retry later', {
      headers: { 'retry-after': '5' },
    });
  }
  if (isResourceExhausted(err)) {
    return rendered(429, 'too_many_requests', 'Temporal is rate-limiting this lead; retry later', {
      headers: { 'retry-after': '1' },
    });
  }

  const fst = err as FastifyLikeError;
  if (fst && typeof fst === 'object') {
    const known = fst.code ? FASTIFY_CODES[fst.code] : undefined;
    if (known) {
      const message =
        known.code === 'payload_too_large'
          ? `the body is larger than the limit of ${bodyLimit} bytes`
          : (known.message ?? fst.message ?? known.code);
      return rendered(known.status, known.code, message);
    }
    // Fastify's JSON parser marks syntax errors with 400 and no code.
    if (err instanceof SyntaxError && fst.statusCode === 400) {
      return rendered(400, 'invalid_json', `malformed JSON: ${err.message}`);
    }
    if (typeof fst.statusCode === 'number' && fst.statusCode >= 400 && fst.statusCode < 500) {
      return rendered(fst.statusCode, 'bad_request', fst.message ?? 'bad request');
    }
  }
  return rendered(500, 'internal', 'internal error');
}

/** The request's path, without its query (which may hold a token): the problem's `instance`. */
const instanceOf = (request: FastifyRequest): string => request.url.split('?')[0] ?? request.url;

/** Sends a rendered error as `application/problem+json`. */
export function sendProblem(reply: FastifyReply, { status, body, headers }: RenderedError) {
  // Our own serializer: an error body never depends on a route's response schema.
  return reply
    .code(status)
    .headers(headers)
    .type(`${PROBLEM_CONTENT_TYPE}; charset=utf-8`)
    .serializer(JSON.stringify)
    .send(body);
}

/** The error handler of a scope whose bodies are limited to `bodyLimit` bytes (its 413 names it). */
export function errorHandler(bodyLimit: number) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const rendered = renderError(err, bodyLimit, instanceOf(request));
    if (rendered.status >= 500) request.log.error({ err }, 'request failed');
    return sendProblem(reply, rendered);
  };
}

/** The answer for a route that does not exist. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  const error = new ApiError(404, 'route_not_found', `no route ${request.method} ${instanceOf(request)}`);
  return sendProblem(reply, renderError(error, 0, instanceOf(request)));
}
