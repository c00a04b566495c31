/**
 * The benchmark's worker process: `node --import tsx bench/worker.ts '<json spec>'`, started by
 * bench/run.ts so that its CPU time and resident memory can be read from /proc apart from the
 * client's, and so that `--cpu-prof` profiles the worker side alone.
 *
 * Runs one Worker per entry of the spec (the lead workflow with its real default activities, or the
 * baseline without activities), each from a prebuilt bundle, prints `READY <json>` once all poll,
 * and drains on SIGTERM (Runtime's shutdown signals).
 */
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { activitiesFromEnv } from '../src/activities/index.js';
import { loadDataConverter } from '../src/codec/keys.js';
import { createLeadWorker } from '../src/worker.js';

export interface WorkerSpec {
  address: string;
  namespace: string;
  /** For the lead workflow's outbox and stage-change files. */
  dataDir: string;
  queues: Array<{
    taskQueue: string;
    bundlePath: string;
    kind: 'lead' | 'baseline';
    /** LEADCYCLE_CODEC_KEYS for this queue's payload codec, as every leadcycle worker has; none: plain. */
    codecKeys?: string;
  }>;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as WorkerSpec;
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address: spec.address });
  const effects = activitiesFromEnv({ LEADCYCLE_DATA_DIR: spec.dataDir });
  const workers = await Promise.all(
    spec.queues.map(async (q) => {
      const dataConverter = q.codecKeys
        ? (await loadDataConverter({ LEADCYCLE_CODEC_KEYS: q.codecKeys })).dataConverter
        : undefined;
      return q.kind === 'lead'
        ? createLeadWorker({
            connection,
            namespace: spec.namespace,
            taskQueue: q.taskQueue,
            activities: effects.activities,
            workflowBundle: { codePath: q.bundlePath },
            ...(dataConverter ? { dataConverter } : {}),
          })
        : Worker.create({
            connection,
            namespace: spec.namespace,
            taskQueue: q.taskQueue,
            workflowBundle: { codePath: q.bundlePath },
            ...(dataConverter ? { dataConverter } : {}),
          });
    }),
  );
  const running = Promise.all(workers.map((w) => w.run()));
  process.stdout.write(
    `READY ${JSON.stringify({
      pid: process.pid,
      maxCachedWorkflows: workers[0]?.options.maxCachedWorkflows,
      maxConcurrentWorkflowTaskExecutions: workers[0]?.options.maxConcurrentWorkflowTaskExecutions,
    })}\n`,
  );
  await running;
  await effects.close();
  await connection.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
