/** The API's settings from the environment; each error names the variable at fault. */

export class ApiConfigError extends Error {
  readonly code = 'invalid_api_config';
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`${variable}: ${message}`);
    this.name = 'ApiConfigError';
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
  const rawKeys = env.LEADCYCLE_API_KEYS;
  if (rawKeys === undefined || rawKeys.trim() === '') {
    throw new ApiConfigError(
      'LEADCYCLE_API_KEYS',
      'not set: give the API keys clients may use, comma-separated (e.g. LEADCYCLE_API_KEYS=$(openssl rand -hex 32))',
    );
  }
  const apiKeys = rawKeys
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k !== '');
  if (apiKeys.length === 0) throw new ApiConfigError('LEADCYCLE_API_KEYS', 'holds no key, only commas');

  const rawPort = env.LEADCYCLE_API_PORT?.trim() || '3000';
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65_535) {
    throw new ApiConfigError('LEADCYCLE_API_PORT', `"${rawPort}" is not a port number (0 to 65535)`);
  }

  const webhookSecret = env.LEADCYCLE_WEBHOOK_SECRET;
  if (webhookSecret !== undefined && webhookSecret !== '' && webhookSecret.length < 16) {
    throw new ApiConfigError('LEADCYCLE_WEBHOOK_SECRET', 'too short: use at least 16 characters');
  }
  return {
    apiKeys,
    port,
    host: env.LEADCYCLE_API_HOST?.trim() || '127.0.0.1',
    ...(webhookSecret ? { webhookSecret } : {}),
    temporalAddress: env.TEMPORAL_ADDRESS?.trim() || '127.0.0.1:7233',
    temporalNamespace: env.TEMPORAL_NAMESPACE?.trim() || 'default',
    ...(env.LEADCYCLE_TASK_QUEUE?.trim() ? { taskQueue: env.LEADCYCLE_TASK_QUEUE.trim() } : {}),
  };
}
