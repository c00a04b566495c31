/**
 * A lead's Temporal executions: every run of its workflow id, continued-as-new ones included, and
 * their deletion. Two sources, because neither alone is complete: visibility lists every run it has
 * indexed (it lags the newest by a moment), and the continue-as-new links in each run's first
 * history event walk back from the newest run (they miss an earlier chain, from before a close).
 */
import { type Client, isGrpcServiceError, WorkflowNotFoundError } from '@temporalio/client';

export interface RunInfo {
  runId: string;
  /** RUNNING, CONTINUED_AS_NEW, TERMINATED, … */
  status: string;
  startTime: string | null;
  closeTime: string | null;
}

const GRPC_NOT_FOUND = 5;

/** True when Temporal answered that the execution (or run) does not exist (any more). */
export function isNotFound(err: unknown): boolean {
  if (err instanceof WorkflowNotFoundError) return true;
  const cause = err instanceof Error && isGrpcServiceError(err.cause) ? err.cause : err;
  return isGrpcServiceError(cause) && cause.code === GRPC_NOT_FOUND;
}

/** Every run of the workflow id Temporal still holds, newest first as far as known; [] for none. */
export async function runsOf(client: Client, workflowId: string): Promise<RunInfo[]> {
  const runs = new Map<string, RunInfo>();
  // The id is a lead id (`lead-` and hex, made by workflowIdOf), never free text.
  for await (const run of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    runs.set(run.runId, {
      runId: run.runId,
      status: run.status.name,
      startTime: run.startTime.toISOString(),
      closeTime: run.closeTime?.toISOString() ?? null,
    });
  }
  let runId: string | undefined;
  try {
    const latest = await client.workflow.getHandle(workflowId).describe();
    runId = latest.runId;
    runs.set(latest.runId, {
      runId: latest.runId,
      status: latest.status.name,
      startTime: latest.startTime.toISOString(),
      closeTime: latest.closeTime?.toISOString() ?? null,
    });
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  // Back through the continue-as-new links, for the runs visibility has not indexed yet.
  const seen = new Set<string>();
  while (runId && !seen.has(runId)) {
    seen.add(runId);
    let history: Awaited<ReturnType<ReturnType<Client['workflow']['getHandle']>['fetchHistory']>>;
    try {
      history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    } catch (err) {
      if (isNotFound(err)) break;
      throw err;
    }
    const previous = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    runId = previous || undefined;
    if (runId && !runs.has(runId)) {
      runs.set(runId, { runId, status: 'CONTINUED_AS_NEW', startTime: null, closeTime: null });
    }
  }
  return [...runs.values()];
}

/**
 * Deletes each run's execution, history and visibility record; returns the run ids Temporal accepted.
 * A running run is terminated by its deletion: pass it first, so the chain continues no further.
 * (Terminating first and deleting after does not do: the dev server keeps a run deleted right
 * after its termination.) Temporal deletes in the background: a run can be described for a moment.
 */
export async function deleteRuns(client: Client, workflowId: string, runIds: string[]): Promise<string[]> {
  const deleted: string[] = [];
  for (const runId of runIds) {
    try {
      await client.workflowService.deleteWorkflowExecution({
        namespace: client.options.namespace,
        workflowExecution: { workflowId, runId },
      });
      deleted.push(runId);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  return deleted;
}
