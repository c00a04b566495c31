/** The API's settings, from the shared schema (src/settings.ts); each error names the variable at fault. */
import { describeIssues, type FieldIssue, InvalidInputError, LeadcycleError } from '../errors.js';
import { DEFAULT_TEMPORAL_ADDRESS, readSettings } from '../settings.js';

export class ApiConfigError extends LeadcycleError<'invalid_api_config'> {
  constructor(
    readonly variable: string,
    message: string,
    /** Every bad variable, when there is more than the first. */
    readonly issues: FieldIssue[] = [{ path: [variable], message }],
  ) {
    super('invalid_api_config', issues.length > 1 ? describeIssues(issues) : `${variable}: ${message}`);
  }
}

export interface ApiSettings {
  apiKeys: string[];
  port: number;
  host: string;
  webhookSecret?: string;
  temporalAddress: string;
  temporalNamespace: string;
  /** Task queue of the lead workers; undefined means the LeadClient's default ("leadcycle"). */
  taskQueue?: string;
}

/**
 * LEADCYCLE_API_KEYS (required, comma-separated), LEADCYCLE_API_PORT (3000), LEADCYCLE_API_HOST
 * (127.0.0.1), LEADCYCLE_WEBHOOK_SECRET (optional: enables /v1/webhooks/*), TEMPORAL_ADDRESS
 * (127.0.0.1:7233), TEMPORAL_NAMESPACE (default), LEADCYCLE_TASK_QUEUE (the workers' queue).
 */
export function apiSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): ApiSettings {
  let settings: ReturnType<typeof readSettings>;
  try {
    settings = readSettings(env);
  } catch (err) {
    if (!(err instanceof InvalidInputError)) throw err;
    const [first] = err.issues;
    throw new ApiConfigError(first?.path[0] ?? 'environment', first?.message ?? err.message, err.issues);
  }
  // Required by the API alone: `npm start` makes a local key instead.
  if (settings.LEADCYCLE_API_KEYS === undefined) {
    throw new ApiConfigError(
      'LEADCYCLE_API_KEYS',
      'not set: give the API keys clients may use, comma-separated (e.g. LEADCYCLE_API_KEYS=$(openssl rand -hex 32))',
    );
  }
  return {
    apiKeys: settings.LEADCYCLE_API_KEYS,
    port: settings.LEADCYCLE_API_PORT,
    host: settings.LEADCYCLE_API_HOST,
    ...(settings.LEADCYCLE_WEBHOOK_SECRET ? { webhookSecret: settings.LEADCYCLE_WEBHOOK_SECRET } : {}),
    temporalAddress: settings.TEMPORAL_ADDRESS ?? DEFAULT_TEMPORAL_ADDRESS,
    temporalNamespace: settings.TEMPORAL_NAMESPACE,
    ...(settings.LEADCYCLE_TASK_QUEUE ? { taskQueue: settings.LEADCYCLE_TASK_QUEUE } : {}),
  };
}
