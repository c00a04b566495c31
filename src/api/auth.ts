/**
 * API keys: `Authorization: Bearer <key>` or `X-Api-Key: <key>` (Authorization wins when both are
 * sent). Keys are compared as SHA-256 digests with timingSafeEqual, against every configured key
 * without stopping at a match, so the time taken says nothing about which key, or how much of one,
 * matched.
 *
 * A key is either an admin key (`<key>`: every tenant, and the routes that span tenants) or scoped
 * to tenants (`<tenant>[|<tenant>…]:<key>`): it reaches only leads of those tenants, anything else
 * answers as if the lead did not exist (404), and routes that span tenants (the list, reports,
 * metrics) are a 403 for it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type LeadClient, TenantSchema } from '../client/index.js';
import { LeadcycleError } from '../errors.js';
import { stateQuery } from '../workflows/messages.js';
import { ApiError } from './errors.js';

const digest = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Who a request authenticated as: a stable, non-secret id, and its tenants (null: all, an admin key). */
export interface ApiPrincipal {
  id: string;
  tenants: ReadonlySet<string> | null;
}

/** A LEADCYCLE_API_KEYS entry that does not parse; the message never quotes the key. */
export class ApiKeyFormatError extends LeadcycleError<'invalid_api_key_entry'> {
  constructor(message: string) {
    super('invalid_api_key_entry', message);
  }
}

/** `<key>` or `<tenant>[|<tenant>…]:<key>`; throws ApiKeyFormatError naming the entry by position. */
export function parseApiKeyEntry(
  entry: string,
  position: number,
): { secret: string; tenants: string[] | null } {
  const trimmed = entry.trim();
  const colon = trimmed.indexOf(':');
  if (colon < 0) {
    if (trimmed === '') throw new ApiKeyFormatError(`API key ${position + 1} is empty`);
    return { secret: trimmed, tenants: null };
  }
  const tenants = trimmed.slice(0, colon).split('|');
  const secret = trimmed.slice(colon + 1).trim();
  if (tenants.some((t) => !TenantSchema.safeParse(t).success)) {
    throw new ApiKeyFormatError(
      `API key ${position + 1}: before ":" must be its tenants, separated by "|" (a key itself holds no ":")`,
    );
  }
  if (secret === '') throw new ApiKeyFormatError(`API key ${position + 1}: no key after its tenants`);
  return { secret, tenants };
}

export class ApiKeys {
  private readonly digests: Buffer[];
  private readonly principals: string[];
  private readonly scopes: Array<ReadonlySet<string> | null>;

  /** Entries as in LEADCYCLE_API_KEYS (`<key>` or `<tenants>:<key>`); throws ApiKeyFormatError. */
  constructor(keys: readonly string[]) {
    const usable = keys.filter((k) => k.trim().length > 0).map(parseApiKeyEntry);
    if (usable.length === 0) throw new ApiKeyFormatError('apiKeys: give at least one non-empty API key');
    this.digests = usable.map((k) => digest(k.secret));
    if (new Set(usable.map((k) => k.secret)).size !== usable.length) {
      throw new ApiKeyFormatError('apiKeys: the same key is given twice');
    }
    this.scopes = usable.map((k) => (k.tenants ? new Set(k.tenants) : null));
    // Derived from the key itself, not its place in the list: Idempotency-Keys are scoped by it, and
    // their Temporal update ids must not change when the operator adds or reorders keys.
    this.principals = usable.map(
      (k) =>
        `key-${createHash('sha256').update(`leadcycle principal\u0000${k.secret}`, 'utf8').digest('hex').slice(0, 24)}`,
    );
  }

  /** The index of the matching key, or null. */
  match(candidate: string): number | null {
    const given = digest(candidate);
    let found: number | null = null;
    this.digests.forEach((d, i) => {
      if (timingSafeEqual(d, given) && found === null) found = i;
    });
    return found;
  }

  /** The principal of a key by its id (as `principal` names it), or null when no configured key has it. */
  principalById(id: string): ApiPrincipal | null {
    const index = this.principals.indexOf(id);
    return index < 0 ? null : { id, tenants: this.scopes[index] ?? null };
  }

  /** The principal of a key given as such (a login form's), or null when it is no configured key. */
  principalOfKey(candidate: string): ApiPrincipal | null {
    const index = this.match(candidate.trim());
    return index === null
      ? null
      : { id: this.principals[index] as string, tenants: this.scopes[index] ?? null };
  }

  /**
   * Checks a request's headers and names the caller (a stable id derived from its key, not secret);
   * throws a 401 ApiError when the key is missing or wrong.
   */
  authenticate(headers: IncomingHttpHeaders): string {
    return this.principal(headers).id;
  }

  /** The key's id and tenants; throws a 401 ApiError when the key is missing or wrong. */
  principal(headers: IncomingHttpHeaders): ApiPrincipal {
    const candidate = credentialOf(headers);
    if (candidate === null) {
      throw unauthorized('missing API key: send "Authorization: Bearer <key>" or "X-Api-Key: <key>"');
    }
    const index = this.match(candidate);
    if (index === null) throw unauthorized('invalid API key');
    return { id: this.principals[index] as string, tenants: this.scopes[index] ?? null };
  }
}

/** The tenant of a lead key (`<tenant>:email:…`, `<tenant>:ext:…`): tenants hold no ':'. */
export const tenantOfLeadKey = (leadKey: string): string => leadKey.slice(0, leadKey.indexOf(':'));

/** The tenant of a lead by its id, asked of the lead itself; null when there is no such lead. */
export type LeadTenantOf = (leadId: string) => Promise<string | null>;

export function leadTenantVia(
  client: LeadClient,
  temporal: <T>(call: () => Promise<T>) => Promise<T>,
): LeadTenantOf {
  return async (leadId) => {
    try {
      const view = await temporal(() => client.temporal.workflow.getHandle(leadId).query(stateQuery));
      return tenantOfLeadKey(view.leadKey);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  };
}

const notFound = () =>
  new ApiError(404, 'not_found', 'no such lead: capture it first (POST /v1/leads/capture)');

/**
 * The API key check of a group of routes, with tenant scopes: an admin key passes; a scoped key
 * passes only for a request that names a lead of its tenants, in its body (`lead.tenant`) or its
 * path (`leadId`, whose tenant `leadTenantOf` finds). Fail closed: a route that names no lead spans
 * tenants and is a 403 for a scoped key, so a route added later is closed to it until it says whose.
 */
export function requireApiKey(app: FastifyInstance, keys: ApiKeys, leadTenantOf?: LeadTenantOf): void {
  const principals = new WeakMap<FastifyRequest, ApiPrincipal>();
  app.addHook('onRequest', async (request) => {
    principals.set(request, keys.principal(request.headers));
  });
  // After validation: the body's lead reference is parsed (its tenant defaulted).
  app.addHook('preHandler', async (request) => {
    const tenants = principals.get(request)?.tenants;
    if (tenants === null || tenants === undefined) return;
    const lead = (request.body as { lead?: { tenant?: string } } | undefined)?.lead;
    if (lead !== undefined && typeof lead === 'object') {
      if (!tenants.has(lead.tenant ?? 'default')) throw notFound();
      return;
    }
    const leadId = (request.params as { leadId?: unknown } | undefined)?.leadId;
    if (typeof leadId === 'string' && leadTenantOf) {
      const tenant = await leadTenantOf(leadId);
      if (tenant === null || !tenants.has(tenant)) throw notFound();
      return;
    }
    throw forbidden();
  });
}

/** What a request of the analytics routes may see: one tenant's figures, or (null) every tenant's. */
export interface TenantFilter {
  /** The tenant the request's figures are of: `?tenant=`, else a scoped key's only tenant; null: all. */
  of(request: FastifyRequest): string | null;
  /** Whether the request's key reaches a tenant's things (null: of every tenant, admin keys only). */
  reaches(request: FastifyRequest, tenant: string | null): boolean;
}

/**
 * The API key check of the analytics routes: an admin key sees every tenant, or the one named by
 * `?tenant=`; a scoped key sees only its tenants' figures: `?tenant=` one of them (another is a
 * 403), or, without one, its only tenant (a key of several tenants must name one: a 403 otherwise).
 */
export function requireTenantFilter(app: FastifyInstance, keys: ApiKeys): TenantFilter {
  const principals = new WeakMap<FastifyRequest, ApiPrincipal>();
  const tenants = new WeakMap<FastifyRequest, string | null>();
  app.addHook('onRequest', async (request) => {
    principals.set(request, keys.principal(request.headers));
  });
  // After validation: `?tenant=` is a well-formed tenant.
  app.addHook('preHandler', async (request) => {
    const scope = principals.get(request)?.tenants ?? null;
    const asked = (request.query as { tenant?: string } | undefined)?.tenant;
    if (scope === null) {
      tenants.set(request, asked ?? null);
      return;
    }
    if (asked !== undefined) {
      if (!scope.has(asked)) throw tenantForbidden('this API key does not reach that tenant');
      tenants.set(request, asked);
      return;
    }
    if (scope.size === 1) {
      tenants.set(request, [...scope][0] as string);
      return;
    }
    throw tenantForbidden('this API key reaches several tenants: name one with ?tenant=');
  });
  return {
    of: (request) => tenants.get(request) ?? null,
    reaches: (request, tenant) => {
      const scope = principals.get(request)?.tenants ?? null;
      return scope === null || (tenant !== null && scope.has(tenant));
    },
  };
}

const tenantForbidden = (message: string) => new ApiError(403, 'tenant_scope', message);

/**
 * GET /metrics: the metrics key (LEADCYCLE_METRICS_KEY) or an admin API key; the counts span
 * tenants, so a scoped key is a 403.
 */
export function requireMetricsKey(app: FastifyInstance, keys: ApiKeys, metricsKey?: string): void {
  const metricsDigest = metricsKey ? digest(metricsKey) : null;
  app.addHook('onRequest', async (request) => {
    const candidate = credentialOf(request.headers);
    if (metricsDigest && candidate !== null && timingSafeEqual(digest(candidate), metricsDigest)) return;
    if (keys.principal(request.headers).tenants !== null) throw forbidden();
  });
}

function credentialOf(headers: IncomingHttpHeaders): string | null {
  const authorization = headers.authorization;
  if (typeof authorization === 'string' && authorization.trim() !== '') {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization.trim());
    // A malformed Authorization header is a wrong key, not a missing one.
    return match?.[1] ?? '';
  }
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey.trim() !== '') return apiKey.trim();
  return null;
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'unauthorized', message, {
    headers: { 'www-authenticate': 'Bearer realm="leadcycle"' },
  });
}

function forbidden(): ApiError {
  return new ApiError(
    403,
    'tenant_scope',
    'this route spans every tenant: it needs an admin API key (one without a tenant list)',
  );
}
