/**
 * A lead's timeline, read from its own workflow histories (every run of its continue-as-new chain,
 * oldest first): the activities it scheduled are the machine's effects (stage changes, emails,
 * handoffs, consent changes), and the updates it accepted are the commands (a `config` update names
 * a config version). The history is the single truth, on any Temporal server, and needs no store.
 *
 * Privacy: an entry holds what the machine decided, never an address or a profile: an email names
 * its content and outcome, not its recipient; a handoff its scores, not the lead's profile; a
 * consent change its state and source, not the address suppressed.
 */
import { type Client, isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import type { temporal } from '@temporalio/proto';
import type { BuyingStage, ConsentState, Effect, Stage } from '../machines/index.js';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export type TimelineEntry =
  | {
      kind: 'stage';
      at: string;
      from: Stage | null;
      to: Stage;
      cause: string;
      reason: string | null;
      amount?: number;
    }
  | {
      kind: 'email';
      at: string;
      /** nurture or newsletter. */
      email: string;
      family: string;
      buyingStage: BuyingStage;
      item: { id: string; title: string };
      /** `sent` (or done before, by an earlier attempt), `skipped` (with why), `failed`, or `pending`. */
      outcome: 'sent' | 'skipped' | 'failed' | 'pending';
      skipped?: string;
    }
  | {
      kind: 'handoff';
      at: string;
      /** `sales.handoff` (an MQL to sales, or its escalation) or `sales.do_not_contact`. */
      type: string;
      escalation?: boolean;
      slaDeadline?: string;
      score?: number;
      temperature?: string;
    }
  | { kind: 'consent'; at: string; consent: ConsentState; doNotContact: boolean; source: string }
  | {
      /** A config rollout (the `config` update, `{ version, config }`): the version the lead took. */
      kind: 'config';
      at: string;
      version: unknown;
    };

export interface LeadTimeline {
  leadId: string;
  /** Runs of the continue-as-new chain read, oldest first. */
  runs: number;
  /** False when the oldest runs are gone (past the namespace's retention): the start is missing. */
  complete: boolean;
  entries: TimelineEntry[];
}

const iso = (ms: number) => new Date(ms).toISOString();

function eventMs(event: HistoryEvent): number {
  const t = event.eventTime;
  if (!t) return 0;
  const seconds = typeof t.seconds === 'number' ? t.seconds : Number(t.seconds?.toString() ?? 0);
  return seconds * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

const idOf = (id: unknown) => String(id ?? '');

const GRPC_NOT_FOUND = 5;
/** fetchHistory's "no such workflow" is a bare gRPC NOT_FOUND (or its ServiceError wrapper). */
const isNotFound = (err: unknown): boolean =>
  err instanceof WorkflowNotFoundError ||
  (isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND) ||
  (err instanceof Error && isGrpcServiceError(err.cause) && err.cause.code === GRPC_NOT_FOUND);

/** The histories of every run of the lead's chain, oldest first, and whether the first run was found. */
async function chainOf(
  client: Client,
  workflowId: string,
): Promise<{ histories: HistoryEvent[][]; complete: boolean }> {
  const histories: HistoryEvent[][] = [];
  let runId: string | undefined;
  for (;;) {
    let events: HistoryEvent[];
    try {
      events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    } catch (err) {
      if (!isNotFound(err)) throw err;
      // An older run missing is past retention; the newest missing is no lead at all.
      if (histories.length > 0) return { histories, complete: false };
      throw new WorkflowNotFoundError(`no lead ${workflowId}`, workflowId, undefined);
    }
    histories.unshift(events);
    const previous = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!previous) return { histories, complete: true };
    runId = previous;
  }
}

/** Decodes the first payload as the client's data converter (and its codec) would. */
async function decoder(client: Client) {
  const { payloadConverter, payloadCodecs } = client.options.loadedDataConverter;
  return async (payloads: Payload[] | null | undefined, index = 0): Promise<unknown> => {
    let decoded = (payloads ?? []) as Payload[];
    for (const codec of [...payloadCodecs].reverse()) decoded = await codec.decode(decoded);
    const payload = decoded[index];
    return payload === undefined ? undefined : payloadConverter.fromPayload(payload);
  };
}

type EffectOf<T extends Effect['type']> = Extract<Effect, { type: T }>;

/** The marker the SDK records for a local activity: its type in `data`, its answer in `result`. */
const LOCAL_ACTIVITY_MARKER = 'core_local_activity';

/** The lead's timeline from its workflow histories; WorkflowNotFoundError when there is no such lead. */
export async function leadTimeline(client: Client, workflowId: string): Promise<LeadTimeline> {
  const { histories, complete } = await chainOf(client, workflowId);
  const decode = await decoder(client);
  const entries: TimelineEntry[] = [];
  for (const events of histories) {
    // The outcome of each email, by the id of its scheduled event.
    const outcomes = new Map<string, { outcome: 'sent' | 'skipped' | 'failed'; skipped?: string }>();
    for (const event of events) {
      const completed = event.activityTaskCompletedEventAttributes;
      if (completed) {
        const result = (await decode(completed.result?.payloads)) as { skipped?: string } | undefined;
        outcomes.set(
          idOf(completed.scheduledEventId),
          result?.skipped ? { outcome: 'skipped', skipped: result.skipped } : { outcome: 'sent' },
        );
      }
      const failed = event.activityTaskFailedEventAttributes ?? event.activityTaskTimedOutEventAttributes;
      if (failed) outcomes.set(idOf(failed.scheduledEventId), { outcome: 'failed' });
    }
    for (const event of events) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled) {
        const input = (await decode(scheduled.input?.payloads)) as Record<string, unknown> | undefined;
        const entry = effectEntry(
          scheduled.activityType?.name ?? '',
          input,
          outcomes.get(idOf(event.eventId)),
        );
        if (entry) entries.push(entry);
        continue;
      }
      const marker = event.markerRecordedEventAttributes;
      if (marker?.markerName === LOCAL_ACTIVITY_MARKER) {
        // Store writes as a local activity (new leads since cheap-starts): the changes are in its result.
        const data = (await decode(marker.details?.data?.payloads)) as { activity_type?: string } | undefined;
        if (data?.activity_type !== 'recordLeadChanges') continue;
        const result = (await decode(marker.details?.result?.payloads)) as
          | { changes?: Array<{ activity: string; change: unknown }> }
          | undefined;
        for (const { activity, change } of result?.changes ?? []) {
          const entry = effectEntry(activity, { change }, undefined);
          if (entry) entries.push(entry);
        }
        continue;
      }
      const update = event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
      if (update?.name === 'config') {
        const arg = (await decode(update.args?.payloads)) as { version?: unknown } | undefined;
        entries.push({ kind: 'config', at: iso(eventMs(event)), version: arg?.version ?? null });
      }
    }
  }
  return { leadId: workflowId, runs: histories.length, complete, entries };
}

function effectEntry(
  activity: string,
  input: Record<string, unknown> | undefined,
  outcome: { outcome: 'sent' | 'skipped' | 'failed'; skipped?: string } | undefined,
): TimelineEntry | null {
  if (!input) return null;
  switch (activity) {
    case 'recordStageChange': {
      const change = input.change as EffectOf<'stage.changed'>;
      return {
        kind: 'stage',
        at: iso(change.at),
        from: change.from,
        to: change.to,
        cause: change.cause,
        reason: change.reason ?? null,
        ...(change.amount !== undefined ? { amount: change.amount } : {}),
      };
    }
    case 'sendContent': {
      const content = input.content as EffectOf<'content.send'>;
      return {
        kind: 'email',
        at: iso(content.at),
        email: content.kind,
        family: content.family,
        buyingStage: content.buyingStage,
        item: { id: content.item.id, title: content.item.title },
        ...(outcome ?? { outcome: 'pending' as const }),
      };
    }
    case 'handOffToSales': {
      const handoff = input.handoff as EffectOf<'sales.handoff'> | EffectOf<'sales.do_not_contact'>;
      if (handoff.type === 'sales.do_not_contact') {
        return { kind: 'handoff', at: iso(handoff.at), type: handoff.type };
      }
      return {
        kind: 'handoff',
        at: iso(handoff.at),
        type: handoff.type,
        escalation: handoff.escalation,
        slaDeadline: iso(handoff.slaDeadline),
        score: handoff.score,
        temperature: handoff.temperature,
      };
    }
    case 'recordConsentChange': {
      const change = input.change as EffectOf<'consent.changed'>;
      return {
        kind: 'consent',
        at: iso(change.at),
        consent: change.consent,
        doNotContact: change.doNotContact,
        source: change.source,
      };
    }
    default:
      // The journal, and activities this code does not know yet.
      return null;
  }
}
