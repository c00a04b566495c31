/**
 * The HTTP API alone: `LEADCYCLE_API_KEYS=… npx tsx src/api/main.ts`. It needs a Temporal server
 * (the connection settings: src/temporal/connection.ts) and a worker (`npm run worker`, or `npm start`) on the same task queue
 * (LEADCYCLE_TASK_QUEUE) with the same payload codec keys (LEADCYCLE_CODEC_KEYS or the data dir's).
 * Reports read the analytics store: PostgreSQL when LEADCYCLE_DATABASE_URL is set, else the data dir's
 * SQLite file (LEADCYCLE_DATA_DIR, `<dataDir>/leadcycle.db`).
 * SIGINT/SIGTERM: stop taking requests, finish those in flight, then close the Temporal connection
 * and the analytics store.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Outbox } from '../activities/outbox.js';
import { Analytics, openServedStore } from '../analytics/index.js';
import { connectTemporal, LeadClient, loadLeadIds, useLeadIds } from '../client/index.js';
import { ConfigFileError, loadConfigFile } from '../config-file.js';
import { ConfigVersions, liveConfig } from '../config-versions.js';
import { readSettings, SettingsError } from '../settings.js';
import { TemporalConnectionError } from '../temporal/connection.js';
import { apiSettingsFromEnv } from './env.js';
import { REPLAY_CACHE_FILE } from './replay-cache.js';
import { startApi } from './server.js';
import { VENDOR_REPLAY_CACHE_FILE } from './vendor-webhooks.js';

/** Runs the API until SIGINT/SIGTERM. */
export async function runApi(): Promise<void> {
  const settings = apiSettingsFromEnv();
  // New leads start with the config store's newest version (read at each capture), else LEADCYCLE_CONFIG.
  const configSource = new ConfigVersions(settings.dataDir);
  const { config } = await liveConfig(configSource);
  // Before the store opens: lead ids and the suppression hashes agree with the worker's.
  useLeadIds((await loadLeadIds()).ids);
  // The Temporal connection settings and the payload codec, as every entry point.
  const temporal = await connectTemporal();
  const client = new LeadClient(temporal.client, {
    config: await loadConfigFile(),
    configSource,
    ...(settings.taskQueue ? { taskQueue: settings.taskQueue } : {}),
  });
  // A damaged, locked or unreachable store degrades the reports (503, and /readyz says why), not the API.
  const store = openServedStore(settings.dataDir, readSettings(), { drain: false });
  const outbox = new Outbox(settings.dataDir);
  const api = await startApi({
    client,
    analytics: new Analytics(store, Date.now, config),
    analyticsHealth: () => store.probe(),
    backtests: settings.backtests,
    configVersions: configSource, // /v1/config*: the store new leads read
    simulations: {}, // POST /v1/simulations: its own time-skipping server, one at a time
    apiKeys: settings.apiKeys,
    port: settings.port,
    host: settings.host,
    temporalTimeoutMs: settings.temporalTimeoutMs,
    webhookSecrets: settings.webhookSecrets,
    // A replay after a restart is refused too: the deliveries seen are kept in the data dir.
    webhookReplayFile: join(settings.dataDir, REPLAY_CACHE_FILE),
    vendorSecrets: settings.vendorSecrets,
    vendorReplayFile: join(settings.dataDir, VENDOR_REPLAY_CACHE_FILE),
    ...(settings.publicUrl ? { publicUrl: settings.publicUrl } : {}),
    ...(settings.metricsKey ? { metricsKey: settings.metricsKey } : {}),
    ...(settings.unsubscribeSecret ? { unsubscribeSecret: settings.unsubscribeSecret } : {}),
    privacy: { store, outbox },
    imports: { dataDir: settings.dataDir }, // POST /v1/imports: resume state in the data dir
    // Unsubscribe links carry a token in their query: logged URLs keep the path only.
    logger: {
      serializers: {
        req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url.split('?')[0] }),
      },
    },
  }).catch(async (err: unknown) => {
    // The caller only reports the error: nothing else would close these.
    await store.close();
    await outbox.close();
    await temporal.close();
    throw err;
  });
  api.app.log.info(
    `leadcycle API on ${api.url}: Temporal ${temporal.address}/${temporal.settings.namespace} (${temporal.settings.source}), task queue ${client.taskQueue}, ` +
      `analytics ${store.location}, ` +
      `webhooks: forms ${settings.webhookSecrets.forms ? 'on' : 'off (LEADCYCLE_FORMS_WEBHOOK_SECRET not set)'}, ` +
      `crm ${settings.webhookSecrets.crm ? 'on' : 'off (LEADCYCLE_CRM_COMMAND_SECRET not set)'}, ` +
      `hubspot ${settings.vendorSecrets.hubspot ? 'on' : 'off'}, mautic ${settings.vendorSecrets.mautic ? 'on' : 'off'}, ` +
      `typeform ${settings.vendorSecrets.typeform ? 'on' : 'off'}`,
  );

  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    api.app.log.info(`${signal}: stopping the API`);
    await api.close();
    await temporal.close();
    await store.close();
    await outbox.close();
    process.exit(0);
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  runApi().catch((err) => {
    // A configuration or connection problem is the user's to fix: say which, without a stack trace.
    if (
      err instanceof SettingsError ||
      err instanceof ConfigFileError ||
      err instanceof TemporalConnectionError
    )
      console.error(err.message);
    else console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
