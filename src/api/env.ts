/** The API's settings, from the shared schema (src/settings.ts); each error names the variable at fault. */
import { dataDirOf } from '../paths.js';
import { readSettings, type Settings, SettingsError } from '../settings.js';
import { ApiKeyFormatError, parseApiKeyEntry } from './auth.js';
import type { VendorSecrets } from './vendor-webhooks.js';
import type { WebhookSecrets } from './webhooks.js';

export interface ApiSettings {
  apiKeys: string[];
  port: number;
  host: string;
  /** One secret per webhook route: a form tool's cannot sign a CRM command. */
  webhookSecrets: WebhookSecrets;
  /** The vendors' webhooks: HubSpot's app client secret, Mautic's and Typeform's webhook secrets. */
  vendorSecrets: VendorSecrets;
  /** LEADCYCLE_PUBLIC_URL: where the vendors reach the API (HubSpot signs the full URL). */
  publicUrl?: string;
  /** A key for GET /metrics alone. */
  metricsKey?: string;
  /** Task queue of the lead workers; undefined means the LeadClient's default ("leadcycle"). */
  taskQueue?: string;
  /** Checks the signed unsubscribe links the worker puts in every email (the same secret). */
  unsubscribeSecret?: string;
  /** The data dir whose analytics store and outbox forget and export read. */
  dataDir: string;
  /** Deadline of each Temporal call a request makes (LEADCYCLE_API_TEMPORAL_TIMEOUT_MS). */
  temporalTimeoutMs: number;
  /** LEADCYCLE_BACKTEST_TIMEOUT_MS and LEADCYCLE_BACKTEST_CONCURRENCY. */
  backtests: { timeoutMs: number; concurrency: number };
}

/**
 * LEADCYCLE_API_KEYS (required, comma-separated; `<tenant>[|<tenant>…]:<key>` scopes a key),
 * LEADCYCLE_API_PORT (3000), LEADCYCLE_API_HOST (127.0.0.1), LEADCYCLE_FORMS_WEBHOOK_SECRET and
 * LEADCYCLE_CRM_COMMAND_SECRET (optional: enable /v1/webhooks/forms, /crm), LEADCYCLE_HUBSPOT_CLIENT_SECRET,
 * LEADCYCLE_MAUTIC_WEBHOOK_SECRET, LEADCYCLE_TYPEFORM_WEBHOOK_SECRET (optional: enable /v1/webhooks/hubspot,
 * /mautic, /typeform), LEADCYCLE_PUBLIC_URL (the URL HubSpot calls), LEADCYCLE_METRICS_KEY,
 * LEADCYCLE_TASK_QUEUE (the workers' queue),
 * LEADCYCLE_UNSUBSCRIBE_SECRET (optional: enables /v1/unsubscribe/*), LEADCYCLE_DATA_DIR,
 * LEADCYCLE_API_TEMPORAL_TIMEOUT_MS (20000).
 * LEADCYCLE_BACKTEST_TIMEOUT_MS (60000), LEADCYCLE_BACKTEST_CONCURRENCY (1).
 * Throws SettingsError.
 */
export function apiSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ApiSettings {
  const settings = readSettings(env);
  // Required by the API alone: `npm start` makes a local key instead.
  if (settings.LEADCYCLE_API_KEYS === undefined) {
    throw new SettingsError([
      {
        path: ['LEADCYCLE_API_KEYS'],
        message:
          'not set: give the API keys clients may use, comma-separated (e.g. LEADCYCLE_API_KEYS=$(openssl rand -hex 32))',
      },
    ]);
  }
  const apiKeys = settings.LEADCYCLE_API_KEYS;
  apiKeys.forEach((entry, i) => {
    try {
      parseApiKeyEntry(entry, i);
    } catch (err) {
      if (!(err instanceof ApiKeyFormatError)) throw err;
      throw new SettingsError([{ path: ['LEADCYCLE_API_KEYS'], message: err.message }]);
    }
  });
  return {
    apiKeys,
    port: settings.LEADCYCLE_API_PORT,
    host: settings.LEADCYCLE_API_HOST,
    webhookSecrets: {
      ...(settings.LEADCYCLE_FORMS_WEBHOOK_SECRET ? { forms: settings.LEADCYCLE_FORMS_WEBHOOK_SECRET } : {}),
      ...(settings.LEADCYCLE_CRM_COMMAND_SECRET ? { crm: settings.LEADCYCLE_CRM_COMMAND_SECRET } : {}),
    },
    vendorSecrets: vendorSecretsOf(settings),
    ...(settings.LEADCYCLE_PUBLIC_URL ? { publicUrl: settings.LEADCYCLE_PUBLIC_URL } : {}),
    ...(settings.LEADCYCLE_METRICS_KEY ? { metricsKey: settings.LEADCYCLE_METRICS_KEY } : {}),
    ...(settings.LEADCYCLE_TASK_QUEUE ? { taskQueue: settings.LEADCYCLE_TASK_QUEUE } : {}),
    ...(settings.LEADCYCLE_UNSUBSCRIBE_SECRET
      ? { unsubscribeSecret: settings.LEADCYCLE_UNSUBSCRIBE_SECRET }
      : {}),
    ...(settings.LEADCYCLE_DASHBOARD_SECRET
      ? { dashboard: { sessionSecret: settings.LEADCYCLE_DASHBOARD_SECRET } }
      : {}),
    dataDir: dataDirOf(settings),
    temporalTimeoutMs: settings.LEADCYCLE_API_TEMPORAL_TIMEOUT_MS,
    backtests: {
      timeoutMs: settings.LEADCYCLE_BACKTEST_TIMEOUT_MS,
      concurrency: settings.LEADCYCLE_BACKTEST_CONCURRENCY,
    },
  };
}

/** The vendors' webhook secrets that are set (npm start reads them the same way). */
export function vendorSecretsOf(settings: Settings): VendorSecrets {
  return {
    ...(settings.LEADCYCLE_HUBSPOT_CLIENT_SECRET
      ? { hubspot: settings.LEADCYCLE_HUBSPOT_CLIENT_SECRET }
      : {}),
    ...(settings.LEADCYCLE_MAUTIC_WEBHOOK_SECRET ? { mautic: settings.LEADCYCLE_MAUTIC_WEBHOOK_SECRET } : {}),
    ...(settings.LEADCYCLE_TYPEFORM_WEBHOOK_SECRET
      ? { typeform: settings.LEADCYCLE_TYPEFORM_WEBHOOK_SECRET }
      : {}),
  };
}
