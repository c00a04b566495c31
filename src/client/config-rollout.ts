/**
 * Rolling a stored config version (src/config-versions.ts) out to the running leads, and counting
 * leads per version. Leads are listed by Temporal visibility (a second or so behind): a lead started
 * meanwhile gets the new version from the store at its start.
 */
import type { LeadcycleConfigInput } from '../machines/index.js';
import { LeadSearchAttributes } from '../temporal/search-attributes.js';
import { LEAD_WORKFLOW_TYPE } from '../workflows/messages.js';
import { LeadError } from './errors.js';
import type { LeadClient } from './lead-client.js';

/** Leads updated at once: enough to roll out thousands in minutes, few enough to spare the server. */
export const DEFAULT_ROLLOUT_CONCURRENCY = 8;

/** The running leads of the client's task queue (task queue names are ours: no free text from callers). */
const runningLeads = (client: LeadClient) =>
  `WorkflowType = '${LEAD_WORKFLOW_TYPE}' AND ExecutionStatus = 'Running' AND TaskQueue = '${client.taskQueue.replaceAll("'", '')}'`;

export interface RolloutReport {
  version: number;
  /** Leads now on the version (including those that were already). */
  applied: number;
  /** Leads that refused it or could not be reached, with why (no personal data: workflow ids only). */
  failed: Array<{ workflowId: string; code: string; message: string }>;
}

/** Sends `version` to every running lead of the client's task queue, `concurrency` at a time. */
export async function rollOut(
  client: LeadClient,
  version: { id: number; config: LeadcycleConfigInput },
  options: { concurrency?: number } = {},
): Promise<RolloutReport> {
  const report: RolloutReport = { version: version.id, applied: 0, failed: [] };
  const ids = client.temporal.workflow.list({ query: runningLeads(client) })[Symbol.asyncIterator]();
  const rollout = { version: version.id, config: version.config };
  // Workers pull the next lead from one shared listing: at most `concurrency` updates in flight.
  const work = async () => {
    for (let next = await ids.next(); !next.done; next = await ids.next()) {
      const { workflowId } = next.value;
      try {
        await client.reconfigure(workflowId, rollout);
        report.applied++;
      } catch (err) {
        // stale_config: the lead is on a newer version already (an overlapping rollout).
        const code = err instanceof LeadError ? err.code : 'error';
        report.failed.push({ workflowId, code, message: (err as Error).message });
      }
    }
  };
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_ROLLOUT_CONCURRENCY);
  await Promise.all(Array.from({ length: concurrency }, work));
  return report;
}

export interface ConfigCounts {
  /** Running leads per config version; `none`: started from LEADCYCLE_CONFIG, never got a version. */
  leadsPerVersion: Record<string, number>;
  running: number;
}

/** Counts the running leads per version (by the LeadConfigVersion search attribute). */
export async function countLeadsPerVersion(client: LeadClient): Promise<ConfigCounts> {
  const leadsPerVersion: Record<string, number> = {};
  let running = 0;
  for await (const wf of client.temporal.workflow.list({ query: runningLeads(client) })) {
    const version = wf.typedSearchAttributes.get(LeadSearchAttributes.configVersion);
    const key = version === undefined ? 'none' : String(version);
    leadsPerVersion[key] = (leadsPerVersion[key] ?? 0) + 1;
    running++;
  }
  return { leadsPerVersion, running };
}
