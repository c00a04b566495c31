import {
  type Client,
  isGrpcServiceError,
  WithStartWorkflowOperation,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition } from '@temporalio/common';
import { decodeTypedSearchAttributes } from '@temporalio/common/lib/converter/payload-search-attributes.js';
import type { z } from 'zod';
import { startSummary } from '../codec/operator-text.js';
import { issuesOf } from '../errors.js';
import {
  type ImportCommandInput,
  ImportCommandSchema,
  type LeadCommand,
  type LeadCommandInput,
  LeadCommandSchema,
  type LeadcycleConfigInput,
  LeadcycleConfigSchema,
  type LeadFact,
  LeadFactSchema,
  type LeadView,
  type Rejection,
  type Stage,
  StageSchema,
  type Temperature,
  TemperatureSchema,
} from '../machines/index.js';
import { LeadSearchAttributes } from '../temporal/search-attributes.js';
import type { leadWorkflow } from '../workflows/lead-workflow.js';
import {
  type ConfigRollout,
  commandUpdate,
  configUpdate,
  FAILURE,
  factSignal,
  importUpdate,
  LEAD_WORKFLOW_TYPE,
  type LeadWorkflowInput,
  mergeUpdate,
  STARTED_UNDER,
  stateQuery,
} from '../workflows/messages.js';
import {
  LeadCommandRejectedError,
  LeadNotFoundError,
  LeadValidationError,
  StaleConfigVersionError,
  type ValidationIssue,
} from './errors.js';
import { type LeadIds, type LeadRef, LeadRefSchema, leadIds, leadKeyOf } from './lead-key.js';
import { decodeCursor, encodeCursor } from './list-cursor.js';
import { type LeadTimeline, leadTimeline } from './timeline.js';

export const DEFAULT_TASK_QUEUE = 'leadcycle';

/** Where new leads get their config from at each capture (src/config-versions.ts: the newest version). */
export interface LiveConfigSource {
  current(): Promise<{ id: number; config: LeadcycleConfigInput } | null>;
}

export interface LeadClientOptions {
  taskQueue?: string;
  /** The config new leads start with (unless `configSource` has a version); validated once here. */
  config?: LeadcycleConfigInput;
  /** The config store: when it holds a version, new leads start with the newest one instead. */
  configSource?: LiveConfigSource;
  /** See LeadWorkflowInput.searchAttributes: false only for servers that cannot register them. */
  searchAttributes?: boolean;
  /** See LeadWorkflowInput.continueAsNewAt. */
  continueAsNewAt?: LeadWorkflowInput['continueAsNewAt'];
  /** How leads are named (their secret, legacy ids); default: the process's (leadIds()). */
  leadIds?: LeadIds;
}

/**
 * Options of a write. `updateId` becomes the Temporal update id: Temporal applies an update id once
 * per workflow run and answers a retry with the first outcome, so a retry after a timeout, a crash or
 * a restart of the caller applies the command once. Unique per intended write (say, a UUID made
 * once per user action, or the HTTP API's Idempotency-Key). It does not hold across the lead's
 * continue-as-new (a new run knows no earlier update ids): see README, "Idempotency keys".
 */
export interface WriteOptions {
  /** 1 to 255 characters. Without it, each call is a new update (a random id). */
  updateId?: string;
}

/** The update id of a write, checked: bad input is a LeadValidationError naming `updateId`. */
function updateIdOf(options: WriteOptions | undefined): { updateId?: string } {
  const updateId = options?.updateId;
  if (updateId === undefined) return {};
  if (typeof updateId !== 'string' || updateId.length === 0 || updateId.length > 255) {
    throw new LeadValidationError([
      { path: ['updateId'], message: 'expected a string of 1 to 255 characters' },
    ]);
  }
  return { updateId };
}

export interface TrackOptions {
  /**
   * Temporal's signal request id, 1 to 255 characters: a retry with the same one is not applied
   * again within the lead's run (not across its continue-as-new). See README, "Idempotency keys".
   */
  requestId?: string;
}

const GRPC_NOT_FOUND = 5;

export interface LeadListFilter {
  stage?: Stage | undefined;
  temperature?: Temperature | undefined;
  limit?: number | undefined;
  /** Only the leads of this client's task queue (this deployment's workers): an export asks each one. */
  ownTaskQueue?: boolean | undefined;
}

/** A page of a lead listing and the cursor of the next one (null after the last). */
export interface LeadPage {
  leads: LeadListing[];
  nextCursor: string | null;
}

export interface LeadListing {
  workflowId: string;
  stage: string | undefined;
  score: number | undefined;
  temperature: string | undefined;
  buyingStage: string | undefined;
  owner: string | undefined;
}

function parse<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new LeadValidationError(issuesOf(result.error));
  return result.data;
}

/**
 * An email-keyed lead is mailed at its key address only: a profile naming another address is
 * refused here, before Temporal (the workflow's validator refuses it too).
 */
function checkProfileAddress(ref: LeadRef, command: { type: string; profile?: { email?: string } }): void {
  const parsed = LeadRefSchema.parse(ref);
  const given = command.profile?.email?.trim().toLowerCase();
  if ('email' in parsed && given !== undefined && given !== parsed.email) {
    throw new LeadValidationError([
      { path: ['profile', 'email'], message: `must be the lead's own address (${parsed.email}) or left out` },
    ]);
  }
}

/** A command from raw input (a CLI argument, a file), checked as the client checks it before sending. */
export function parseCommand(input: unknown): LeadCommand {
  return parse(LeadCommandSchema, input);
}

/**
 * A retry of an update that an earlier run of the lead applied: the workflow refuses it and hands
 * back the lead as it is now (the first outcome went with that run).
 */
function alreadyApplied(err: unknown): LeadView | undefined {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : err;
  if (cause instanceof ApplicationFailure && cause.type === FAILURE.alreadyApplied) {
    return cause.details?.[0] as LeadView;
  }
  return undefined;
}

/** Turns the workflow's ApplicationFailures back into the typed errors apps catch. */
function translate(err: unknown, leadKey: string): never {
  if (err instanceof WorkflowNotFoundError) throw new LeadNotFoundError(leadKey, { cause: err });
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    if (cause.type === FAILURE.rejected)
      throw new LeadCommandRejectedError(cause.details?.[0] as Rejection, { cause });
    if (cause.type === FAILURE.invalidCommand)
      throw new LeadValidationError(cause.details?.[0] as ValidationIssue[]);
  }
  throw err;
}

/** The typed door for apps: every call validated by the same schemas as the machine. */
export class LeadClient {
  readonly taskQueue: string;
  private readonly config: LeadcycleConfigInput;
  private readonly configSource: LiveConfigSource | undefined;
  private readonly searchAttributes: boolean;
  private readonly continueAsNewAt: LeadWorkflowInput['continueAsNewAt'];
  readonly ids: LeadIds;

  constructor(
    readonly temporal: Client,
    options: LeadClientOptions = {},
  ) {
    this.taskQueue = options.taskQueue ?? DEFAULT_TASK_QUEUE;
    // Fail at construction, not at the first lead, when the config is wrong. With its defaults filled
    // in: a lead carries its whole config, so a later change of a default in the code does not reach it.
    this.config = parse(LeadcycleConfigSchema, options.config ?? {});
    this.configSource = options.configSource;
    this.searchAttributes = options.searchAttributes ?? true;
    this.continueAsNewAt = options.continueAsNewAt;
    this.ids = options.leadIds ?? leadIds();
  }

  /** The config (and its version, if stored) a lead started now gets. */
  async liveConfig(): Promise<{ config: LeadcycleConfigInput; configVersion?: number }> {
    const current = await this.configSource?.current();
    return current ? { config: current.config, configVersion: current.id } : { config: this.config };
  }

  /** The lead's key and its keyed workflow id (under the process's LeadIds unless given). */
  static keyOf(ref: LeadRef, ids: LeadIds = leadIds()): { leadKey: string; workflowId: string } {
    const leadKey = leadKeyOf(parse(LeadRefSchema, ref));
    return { leadKey, workflowId: ids.workflowIdOf(leadKey) };
  }

  /**
   * The lead's key and the workflow id it runs under: the keyed one, or with legacy ids the unkeyed
   * one of before when the lead exists only there. A lead that exists under neither gets the keyed
   * one (a capture starts it there). Throws LeadValidationError for a bad ref, before any call.
   */
  async locate(ref: LeadRef): Promise<{ leadKey: string; workflowId: string }> {
    const { leadKey } = LeadClient.keyOf(ref, this.ids);
    return { leadKey, workflowId: await this.workflowIdFor(leadKey) };
  }

  /** The workflow id the lead of this key runs under (see locate). */
  async workflowIdFor(leadKey: string): Promise<string> {
    const [keyed, ...legacy] = this.ids.candidatesOf(leadKey) as [string, ...string[]];
    // Without legacy ids, no call: the keyed id is the only one.
    if (legacy.length === 0) return keyed;
    for (const workflowId of [keyed, ...legacy]) {
      try {
        await this.temporal.workflow.getHandle(workflowId).describe();
        return workflowId;
      } catch (err) {
        if (!(err instanceof WorkflowNotFoundError)) throw err;
      }
    }
    return keyed;
  }

  /**
   * Applies a command to the lead, starting the lead's workflow if it does not exist yet
   * (update-with-start): the same form submitted twice yields one lead. With `updateId`, a retry
   * applies the command once too (see WriteOptions).
   */
  async capture(ref: LeadRef, command: LeadCommandInput, options?: WriteOptions): Promise<LeadView> {
    LeadClient.keyOf(ref, this.ids);
    const parsed = parse(LeadCommandSchema, command);
    checkProfileAddress(ref, parsed);
    return this.#updateWithStart(ref, commandUpdate, parsed, options);
  }

  /**
   * Brings in a contact from another tool with its history (stage, dates, score, owner), starting
   * its lead: a lead leadcycle already knows refuses it (LeadCommandRejectedError). The bulk import
   * (src/import/) sends it with the row's update id, so a resumed import applies it once.
   */
  async importContact(ref: LeadRef, command: ImportCommandInput, options?: WriteOptions): Promise<LeadView> {
    LeadClient.keyOf(ref, this.ids);
    const parsed = parse(ImportCommandSchema, command);
    checkProfileAddress(ref, parsed);
    return this.#updateWithStart(ref, importUpdate, parsed, options);
  }

  /** Starts the lead's workflow if it has none running, and sends it the update. */
  async #updateWithStart<C>(
    ref: LeadRef,
    update: UpdateDefinition<LeadView, [C]>,
    command: C,
    options?: WriteOptions,
  ): Promise<LeadView> {
    const updateId = updateIdOf(options);
    const { leadKey, workflowId } = await this.locate(ref);
    const input: LeadWorkflowInput = {
      leadKey,
      ...(await this.liveConfig()),
      searchAttributes: this.searchAttributes,
      ...(this.continueAsNewAt ? { continueAsNewAt: this.continueAsNewAt } : {}),
      // The rules it starts under, so its first workflow task asks no patch (no marker, no upsert).
      startedUnder: STARTED_UNDER,
    };
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof leadWorkflow>(LEAD_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: this.taskQueue,
      args: [input],
      workflowIdConflictPolicy: 'USE_EXISTING',
      // Operator words only: the codec leaves it readable in the UI (src/codec/operator-text.ts).
      staticSummary: startSummary(command as { type: string; form?: string }),
    });
    try {
      return await this.temporal.workflow.executeUpdateWithStart(update, {
        args: [command],
        startWorkflowOperation,
        ...updateId,
      });
    } catch (err) {
      const view = alreadyApplied(err);
      if (view) return view;
      translate(err, leadKey);
    }
  }

  /** Applies a command to an existing lead; with `updateId`, once however often retried (see WriteOptions). */
  async send(ref: LeadRef, command: LeadCommandInput, options?: WriteOptions): Promise<LeadView> {
    const parsed = parse(LeadCommandSchema, command);
    checkProfileAddress(ref, parsed);
    return this.#update(ref, commandUpdate, parsed, options);
  }

  async #update<C>(
    ref: LeadRef,
    update: UpdateDefinition<LeadView, [C]>,
    command: C,
    options?: WriteOptions,
  ): Promise<LeadView> {
    const { leadKey, workflowId } = await this.locate(ref);
    return this.#updateById(workflowId, leadKey, update, command, options);
  }

  /** `named` is what a not-found error calls the lead: its key, or only its id where the key is unknown. */
  async #updateById<C>(
    workflowId: string,
    named: string,
    update: UpdateDefinition<LeadView, [C]>,
    command: C,
    options?: WriteOptions,
  ): Promise<LeadView> {
    const updateId = updateIdOf(options);
    try {
      return await this.temporal.workflow
        .getHandle(workflowId)
        .executeUpdate(update, { args: [command], ...updateId });
    } catch (err) {
      const view = alreadyApplied(err);
      if (view) return view;
      translate(err, named);
    }
  }

  /**
   * Records a high-volume fact (page view, email open) as a signal: no answer, no update budget spent.
   * With `requestId`, a retry is one signal: Temporal ignores a signal whose request id the lead's
   * run has seen already (the SDK's own signal call picks a random one each time, hence the raw call).
   */
  async track(ref: LeadRef, fact: LeadFact, options?: TrackOptions): Promise<void> {
    LeadClient.keyOf(ref, this.ids);
    const parsed = parse(LeadFactSchema, fact);
    checkProfileAddress(ref, parsed);
    const requestId = options?.requestId;
    if (
      requestId !== undefined &&
      (typeof requestId !== 'string' || requestId.length === 0 || requestId.length > 255)
    ) {
      throw new LeadValidationError([
        { path: ['requestId'], message: 'expected a string of 1 to 255 characters' },
      ]);
    }
    const { leadKey, workflowId } = await this.locate(ref);
    try {
      if (requestId === undefined) {
        await this.temporal.workflow.getHandle(workflowId).signal(factSignal, parsed);
        return;
      }
      const { payloadConverter, payloadCodecs } = this.temporal.options.loadedDataConverter;
      let payloads = [payloadConverter.toPayload(parsed)];
      for (const codec of payloadCodecs) payloads = await codec.encode(payloads);
      await this.temporal.workflowService.signalWorkflowExecution({
        namespace: this.temporal.options.namespace,
        identity: this.temporal.options.identity,
        workflowExecution: { workflowId },
        signalName: factSignal.name,
        requestId,
        input: { payloads },
      });
    } catch (err) {
      // The raw call's "no such workflow" is a bare gRPC NOT_FOUND.
      if (isGrpcServiceError(err) && err.code === GRPC_NOT_FOUND)
        throw new LeadNotFoundError(leadKey, { cause: err });
      translate(err, leadKey);
    }
  }

  async get(ref: LeadRef): Promise<LeadView> {
    const { leadKey, workflowId } = await this.locate(ref);
    try {
      return await this.temporal.workflow.getHandle(workflowId).query(stateQuery);
    } catch (err) {
      translate(err, leadKey);
    }
  }

  /** The lead whose workflow id this is (a listing names leads by id only). */
  async getById(workflowId: string): Promise<LeadView> {
    try {
      return await this.temporal.workflow.getHandle(workflowId).query(stateQuery);
    } catch (err) {
      translate(err, workflowId);
    }
  }

  /**
   * The lead's stage changes, emails, handoffs, consent changes and config versions, in order, from
   * its workflow histories (src/client/timeline.ts). LeadNotFoundError when there is no such lead.
   */
  async timeline(ref: LeadRef): Promise<LeadTimeline> {
    const { leadKey, workflowId } = await this.locate(ref);
    try {
      return await leadTimeline(this.temporal, workflowId);
    } catch (err) {
      translate(err, leadKey);
    }
  }

  /**
   * Merges two records of one person (a form by email, a CRM contact by external id): the survivor
   * absorbs the other's facts (its own win; the other fills gaps; points add up; an unsubscribe
   * carries over), then the other closes as `merged`. Safe to retry: a record is absorbed once.
   */
  async merge(survivor: LeadRef, absorbed: LeadRef): Promise<LeadView> {
    const into = LeadClient.keyOf(survivor, this.ids);
    const from = LeadClient.keyOf(absorbed, this.ids);
    if (into.leadKey === from.leadKey) {
      throw new LeadValidationError([{ path: ['absorbed'], message: 'a lead cannot be merged into itself' }]);
    }
    const other = await this.get(absorbed);
    // Sales owns these: refuse before touching the survivor, so nothing is half done.
    if (other.stage === 'sql' || other.stage === 'opportunity' || other.stage === 'customer') {
      throw new LeadCommandRejectedError({
        code: 'not_allowed_in_stage',
        stage: other.stage,
        consent: other.consent,
        event: 'lead.merged',
        guard: null,
        message: `lead.merged is not allowed in stage ${other.stage}: merge sales-owned records in the CRM first`,
      });
    }
    const { context } = other.state;
    let view: LeadView;
    try {
      view = await this.#update(survivor, mergeUpdate, {
        type: 'lead.absorbed',
        from: from.leadKey,
        facts: {
          profile: context.profile,
          bant: context.bant,
          engagementPoints: context.engagement.points,
          furthestContentStage: context.engagement.furthestContentStage,
          consent: other.consent,
          doNotContact: context.consent.doNotContact,
          sentIds: context.nurture.sentIds,
          sentAt: context.nurture.sentAt,
          // When its BANT timeline was given: it keeps counting down in the survivor.
          ...(context.aging ? { timelineGivenAt: context.aging.timelineGivenAt } : {}),
        },
      });
    } catch (err) {
      // A retry after the absorb went through: carry on and close the other record.
      if (!(err instanceof LeadCommandRejectedError && err.rejection.guard === 'notYetAbsorbed')) throw err;
      view = await this.get(survivor);
    }
    if (other.stage !== 'merged') {
      await this.#update(absorbed, mergeUpdate, { type: 'lead.merged', into: into.leadKey });
    }
    return view;
  }

  /**
   * Leads by stage and temperature, from Temporal visibility (eventually consistent, a second or so):
   * the first `limit` (default 100), through as many pages as that takes.
   */
  async list(filter: LeadListFilter = {}): Promise<LeadListing[]> {
    const limit = filter.limit ?? 100;
    const leads: LeadListing[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.listPage({ ...filter, limit: limit - leads.length, cursor });
      leads.push(...page.leads);
      cursor = page.nextCursor ?? undefined;
    } while (cursor && leads.length < limit);
    return leads;
  }

  /**
   * One page of that listing: at most `limit` leads (default 100), and the cursor of the next page
   * (Temporal's next-page token; null after the last). A page may hold fewer than `limit` and still
   * have a next one: visibility decides. A cursor from other filters is a LeadValidationError.
   */
  async listPage(filter: LeadListFilter & { cursor?: string | undefined } = {}): Promise<LeadPage> {
    // Filters go into a visibility query: only known values, never free text.
    const clauses = [`WorkflowType = '${LEAD_WORKFLOW_TYPE}'`, `ExecutionStatus = 'Running'`];
    if (filter.stage) clauses.push(`LeadStage = '${parse(StageSchema, filter.stage)}'`);
    if (filter.temperature)
      clauses.push(`LeadTemperature = '${parse(TemperatureSchema, filter.temperature)}'`);
    if (filter.ownTaskQueue) clauses.push(`TaskQueue = '${this.taskQueue.replaceAll("'", "\\'")}'`);
    const query = clauses.join(' AND ');
    const response = await this.temporal.workflowService.listWorkflowExecutions({
      namespace: this.temporal.options.namespace,
      query,
      pageSize: filter.limit ?? 100,
      nextPageToken: filter.cursor ? decodeCursor(query, filter.cursor) : undefined,
    });
    const leads = (response.executions ?? []).map((wf) => {
      const attrs = decodeTypedSearchAttributes(wf.searchAttributes?.indexedFields);
      return {
        workflowId: wf.execution?.workflowId ?? '',
        stage: attrs.get(LeadSearchAttributes.stage),
        score: attrs.get(LeadSearchAttributes.score),
        temperature: attrs.get(LeadSearchAttributes.temperature),
        buyingStage: attrs.get(LeadSearchAttributes.buyingStage),
        owner: attrs.get(LeadSearchAttributes.owner),
      };
    });
    const token = response.nextPageToken;
    return { leads, nextCursor: token && token.length > 0 ? encodeCursor(query, token) : null };
  }

  /**
   * Rolls a config version out to the running lead of this workflow id: it carries on under it.
   * The update id names the version, so a retried rollout applies it once. A bad config is a
   * LeadValidationError (paths under `config`); a version older than the lead's, a
   * StaleConfigVersionError.
   */
  async reconfigure(workflowId: string, rollout: ConfigRollout): Promise<LeadView> {
    try {
      return await this.temporal.workflow
        .getHandle(workflowId)
        .executeUpdate(configUpdate, { args: [rollout], updateId: `config-v${rollout.version}` });
    } catch (err) {
      const view = alreadyApplied(err);
      if (view) return view;
      const cause = err instanceof WorkflowUpdateFailedError ? err.cause : err;
      if (cause instanceof ApplicationFailure && cause.type === FAILURE.staleConfig) {
        throw new StaleConfigVersionError(rollout.version, cause.details?.[0] as LeadView, { cause });
      }
      translate(err, workflowId);
    }
  }

  /**
   * Applies a command to the lead whose workflow id this is, for doors that know only that id (an
   * unsubscribe link names no one). Validated like `send`; LeadNotFoundError names the id.
   */
  async sendById(workflowId: string, command: LeadCommandInput, options?: WriteOptions): Promise<LeadView> {
    return this.#updateById(
      workflowId,
      workflowId,
      commandUpdate,
      parse(LeadCommandSchema, command),
      options,
    );
  }
}
