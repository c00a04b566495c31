/**
 * History: how many events a lead writes to Temporal in a simulated year, driven on the
 * time-skipping test server (a year of durable timers passes in seconds), and how long its runs get.
 *
 * Two leads, each captured from a form with consent and a profile that fits no persona (so they stay
 * in nurture all year): a quiet one that never engages again, and an engaged one that opens an email
 * or views a page twice a week (an engagement command every 3.5 days).
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { InternalConnectionOptionsSymbol } from '@temporalio/client/lib/connection.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { activitiesFromEnv } from '../src/activities/index.js';
import { LeadClient } from '../src/client/index.js';
import { DAY_MS } from '../src/machines/index.js';
import { startTimeSkippingServer } from '../src/temporal/server.js';
import { createLeadWorker } from '../src/worker.js';
import { captureCommand } from './engine.js';
import { countEventTypes } from './lib/event-types.js';

/** The pattern of test/support/temporal.ts: time skipping on a server we started ourselves. */
class ExistingTimeSkippingEnvironment extends TestWorkflowEnvironment {
  static async connect(address: string): Promise<TestWorkflowEnvironment> {
    const options = { address, [InternalConnectionOptionsSymbol]: { supportsTestService: true } };
    const nativeConnection = await NativeConnection.connect(options);
    const connection = await Connection.connect(options);
    return new ExistingTimeSkippingEnvironment(
      Runtime.instance(),
      { server: { type: 'existing' }, client: {}, plugins: [] },
      true,
      'existing',
      connection,
      nativeConnection,
      'default',
      address,
    );
  }
}

export interface LeadYear {
  scenario: string;
  days: number;
  messages: number;
  runs: number;
  totalEvents: number;
  eventsPerYear: number;
  maxRunHistoryLength: number;
  /** Activities carried out: stage-change records and nurture emails. */
  activities: number;
  eventTypes: Record<string, number>;
  wallSeconds: number;
  /** 1, or 2 when the first lead got stuck on the test server and was replaced. */
  attempts: number;
}

export interface HistoryResults {
  years: LeadYear[];
  /** Scenarios that did not finish, even on a second try (see the comment in `drive`). */
  failures: Array<{ scenario: string; error: string; attempts: number }>;
  /** test/histories/nurture-180-days.json (cadence 2 days, 40-item catalogs), scaled to a year. */
  recorded: { file: string; events: number; days: number; eventsPerYearScaled: number };
}

async function runsOf(env: TestWorkflowEnvironment, workflowId: string) {
  const runs: Array<Array<{ eventType?: unknown }>> = [];
  let runId: string | undefined;
  for (;;) {
    const history = await env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.unshift(history.events ?? []);
    runId =
      history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId ?? undefined;
    if (!runId) return runs;
  }
}

export async function runHistory(
  options: { binary: string; dataDir: string; days: number; bundlePath: string; timeoutSeconds: number },
  log: (line: string) => void,
): Promise<HistoryResults> {
  const server = await startTimeSkippingServer({ binary: options.binary, log });
  const effects = activitiesFromEnv({ LEADCYCLE_DATA_DIR: options.dataDir });
  let env: TestWorkflowEnvironment | undefined;
  try {
    env = await ExistingTimeSkippingEnvironment.connect(server.address);
    const taskQueue = `bench-history-${Date.now()}`;
    const worker = await createLeadWorker({
      connection: env.nativeConnection,
      taskQueue,
      activities: effects.activities,
      workflowBundle: { codePath: options.bundlePath },
    });
    const leads = new LeadClient(env.client, { taskQueue, searchAttributes: false });
    const years: LeadYear[] = [];
    const failures: HistoryResults['failures'] = [];
    const testEnv = env;
    /** One simulated lead-year; `attempt` makes the lead new when a scenario is tried again. */
    const drive = async (scenario: 'quiet' | 'engaged', attempt: number): Promise<LeadYear> => {
      const t0 = performance.now();
      const ref = { tenant: `bench-history-${scenario}-${attempt}`, email: `lead-${scenario}@bench.example` };
      await leads.capture(ref, captureCommand(0, ref.email));
      let messages = 1;
      const end = options.days * DAY_MS;
      if (scenario === 'quiet') {
        await testEnv.sleep(end);
      } else {
        // Commands start a day after the capture and come every 3.5 days, so none lands on the very
        // instant a timer fires (nurture sends fall on whole weeks from the capture, decay ticks 7 days
        // after the last engagement): the time-skipping test server fails the workflow task in which a
        // message cancels a timer that fires at that instant ("invalid history builder state for action").
        const step = 3.5 * DAY_MS;
        let elapsed = DAY_MS;
        await testEnv.sleep(DAY_MS);
        while (elapsed + step <= end) {
          await leads.send(ref, { type: 'engagement', kind: messages % 2 ? 'email_open' : 'page_view' });
          messages++;
          await testEnv.sleep(step);
          elapsed += step;
        }
        await testEnv.sleep(end - elapsed);
      }
      const runs = await runsOf(testEnv, LeadClient.keyOf(ref).workflowId);
      const all = runs.flat();
      const eventTypes = countEventTypes(all);
      return {
        scenario,
        days: options.days,
        messages,
        runs: runs.length,
        totalEvents: all.length,
        eventsPerYear: (all.length * 365) / options.days,
        maxRunHistoryLength: Math.max(...runs.map((r) => r.length)),
        activities: eventTypes.ACTIVITY_TASK_COMPLETED ?? 0,
        eventTypes,
        wallSeconds: (performance.now() - t0) / 1000,
        attempts: attempt,
      };
    };

    await worker.runUntil(async () => {
      for (const scenario of ['quiet', 'engaged'] as const) {
        for (let attempt = 1; ; attempt++) {
          let timer: NodeJS.Timeout | undefined;
          const timedOut = new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`timed out after ${options.timeoutSeconds} s`)),
              options.timeoutSeconds * 1000,
            );
          });
          try {
            const year = await Promise.race([drive(scenario, attempt), timedOut]);
            log(
              `history: ${scenario} lead, ${options.days} days: ${year.totalEvents} events in ${year.runs} run(s), ` +
                `largest run ${year.maxRunHistoryLength} (${year.wallSeconds.toFixed(0)} s)`,
            );
            years.push(year);
            break;
          } catch (err) {
            const message = err instanceof Error ? err.message : String(err);
            log(`history: ${scenario} lead, attempt ${attempt}: ${message}`);
            // A stuck workflow task keeps the test server from skipping time: end that lead first.
            const { workflowId } = LeadClient.keyOf({
              tenant: `bench-history-${scenario}-${attempt}`,
              email: `lead-${scenario}@bench.example`,
            });
            await testEnv.client.workflow
              .getHandle(workflowId)
              .terminate('benchmark scenario timed out')
              .catch(() => {});
            if (attempt >= 2) {
              failures.push({ scenario, error: message, attempts: attempt });
              break;
            }
          } finally {
            clearTimeout(timer);
          }
        }
      }
    });

    const file = 'test/histories/nurture-180-days.json';
    const recorded = JSON.parse(
      await readFile(fileURLToPath(new URL(`../${file}`, import.meta.url)), 'utf8'),
    ) as { events: unknown[] };
    return {
      years,
      failures,
      recorded: {
        file,
        events: recorded.events.length,
        days: 180,
        eventsPerYearScaled: (recorded.events.length * 365) / 180,
      },
    };
  } finally {
    await env?.teardown();
    await effects.close();
    await server.stop();
  }
}
