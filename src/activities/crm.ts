/**
 * The sales handoff (docs/domain.md: "Sales handoff and SLA": marketing owns a lead until SQL, then it moves to sales and the CRM):
 * to the outbox by default, or as a signed webhook.
 */
import type { BuyingStage, ConsentState, Effect, Profile, Stage, Temperature } from '../machines/index.js';
import { CrmUnavailableError, PermanentFailure } from './errors.js';
import type { Outbox } from './outbox.js';
import { summariseReply } from './remote-reply.js';
import { SIGNATURE_HEADER, signPayload } from './signature.js';

export interface HandoffLead {
  profile: Profile;
  score: number;
  fitScore: number;
  persona: string | null;
  temperature: Temperature;
  buyingStage: BuyingStage;
  stage: Stage;
  /** Whether marketing may email the person, and whether they asked for no contact at all. */
  consent: ConsentState;
  doNotContact: boolean;
}

/**
 * What the CRM is told: a lead to work (or an SLA escalation), that the person must not be
 * contacted, or that an SQL or opportunity went untouched (a reminder to its owner).
 */
export type CrmEffect = Extract<
  Effect,
  { type: 'sales.handoff' | 'sales.do_not_contact' | 'sales.stale_reminder' }
>;

export interface Handoff {
  key: string;
  workflowId: string;
  leadKey: string;
  lead: HandoffLead;
  handoff: CrmEffect;
}

export interface CrmHandoff {
  readonly via: 'outbox' | 'webhook';
  /** delivered=false when this key was handed off before. */
  handOff(handoff: Handoff): Promise<{ delivered: boolean }>;
  close(): Promise<void>;
}

/** The JSON the CRM receives (and the outbox keeps). Times are epoch milliseconds, as in the machine. */
export function handoffBody({ key, workflowId, leadKey, lead, handoff }: Handoff) {
  return { type: handoff.type, id: key, workflowId, leadKey, lead, handoff };
}

const meta = (h: Handoff) => ({
  key: h.key,
  kind: 'crm' as const,
  workflowId: h.workflowId,
  leadKey: h.leadKey,
});

/** The embedded default: the outbox record is the handoff. */
export class OutboxCrm implements CrmHandoff {
  readonly via = 'outbox';

  constructor(private readonly outbox: Outbox) {}

  handOff(handoff: Handoff): Promise<{ delivered: boolean }> {
    return this.outbox.deliverOnce(meta(handoff), async () => ({ via: 'outbox', ...handoffBody(handoff) }));
  }

  async close(): Promise<void> {}
}

export interface WebhookSettings {
  url: string;
  secret: string;
  timeoutMs?: number;
}

/**
 * POSTs the handoff as signed JSON. The CRM can dedupe on `Idempotency-Key`; we also note each
 * delivered key in the outbox, so a retry after a success does not post again.
 */
export class WebhookCrm implements CrmHandoff {
  readonly via = 'webhook';

  constructor(
    private readonly outbox: Outbox,
    private readonly settings: WebhookSettings,
  ) {}

  handOff(handoff: Handoff): Promise<{ delivered: boolean }> {
    return this.outbox.deliverOnce(meta(handoff), async () => {
      const status = await this.#post(handoff.key, JSON.stringify(handoffBody(handoff)));
      return { via: 'webhook', url: redactUrl(this.settings.url), status };
    });
  }

  async close(): Promise<void> {}

  async #post(key: string, body: string): Promise<number> {
    const { url, secret, timeoutMs = 10_000 } = this.settings;
    const where = redactUrl(url);
    let response: Response;
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'Idempotency-Key': key,
          // Signed per attempt: a retry hours later must not look like a stale replay.
          [SIGNATURE_HEADER]: signPayload(secret, body),
        },
        body,
        // A redirected POST would turn into a GET and lose the body.
        redirect: 'error',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const why = err instanceof Error && err.name === 'TimeoutError' ? `no answer in ${timeoutMs} ms` : err;
      throw new CrmUnavailableError(`CRM webhook ${where} unreachable: ${describeCause(why)}`, null, {
        cause: err,
      });
    }
    // Read the body either way: it frees the connection. It stays out of the error: a CRM's refusal
    // often quotes the lead (its address), and the error goes to Temporal and the worker's log.
    await response.text().catch(() => '');
    const { status } = response;
    if (response.ok) return status;
    const detail = `CRM webhook ${where} ${summariseReply({ status })}`;
    if (!retryableStatus(status)) {
      // The status alone: the body (and the reason phrase) may echo the lead's data.
      throw new PermanentFailure('crm_rejected', detail, { status });
    }
    const retryAfterMs = retryAfterOf(response.headers.get('retry-after'));
    throw new CrmUnavailableError(detail, status, retryAfterMs === undefined ? {} : { retryAfterMs });
  }
}

/**
 * 401/403 say the secret or the CRM's settings are wrong (an operator fixes them, then the retry goes
 * through), 408/429 and 5xx say "later"; any other 4xx says "never for this request".
 */
export function retryableStatus(status: number): boolean {
  return status < 400 || status >= 500 || [401, 403, 408, 429].includes(status);
}

/** The longest wait a Retry-After may impose: a day, so a wrong header cannot park a handoff for ever. */
const MAX_RETRY_AFTER_MS = 24 * 3600_000;

/** A Retry-After header (delay-seconds or an HTTP date) as milliseconds from now; undefined if absent or bad. */
export function retryAfterOf(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

/** Origin and path only: a query string or user info may carry a token. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

function describeCause(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // undici hides the useful part (ECONNREFUSED...) in `cause`.
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}
