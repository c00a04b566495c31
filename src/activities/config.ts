import { dataDirOf } from '../paths.js';
import { readSettings, type Settings, SettingsError } from '../settings.js';
import type { SmtpSettings } from './content-sender.js';
import type { WebhookSettings } from './crm.js';
import type { MailSettings } from './email.js';

/** Used when nothing is sent for real (the outbox), where no mail server checks the sender. */
export const DEFAULT_MAIL_FROM = 'Leadcycle <leadcycle@localhost>';

export interface ActivityConfig {
  dataDir: string;
  mail: MailSettings;
  /** null: emails go to the outbox. */
  smtp: SmtpSettings | null;
  /** null: handoffs go to the outbox. */
  crmWebhook: WebhookSettings | null;
  /** LEADCYCLE_ANALYTICS_*: the analytics store's busy timeout and retry interval. */
  analytics: Pick<
    Settings,
    'LEADCYCLE_DATABASE_URL' | 'LEADCYCLE_ANALYTICS_BUSY_TIMEOUT_MS' | 'LEADCYCLE_ANALYTICS_RETRY_MS'
  >;
}

export { resolveDataDir } from '../paths.js';

/**
 * Where recipients reach the API: LEADCYCLE_PUBLIC_URL, or the API's own address (what `npm start`
 * serves on this machine; anything mailed to real people needs the public one).
 */
export function publicUrlOf(e: Settings): string {
  if (e.LEADCYCLE_PUBLIC_URL) return e.LEADCYCLE_PUBLIC_URL;
  const host = ['0.0.0.0', '::'].includes(e.LEADCYCLE_API_HOST) ? '127.0.0.1' : e.LEADCYCLE_API_HOST;
  return `http://${host.includes(':') ? `[${host}]` : host}:${e.LEADCYCLE_API_PORT}`;
}

/** The activities' settings (src/settings.ts); throws SettingsError naming every bad variable. */
export function loadActivityConfig(env: NodeJS.ProcessEnv = process.env): ActivityConfig {
  const e: Settings = readSettings(env);
  // Here, not in the shared schema: `npm start` reads its settings first, then makes a local secret.
  if (e.LEADCYCLE_SMTP_URL && !e.LEADCYCLE_UNSUBSCRIBE_SECRET && !e.LEADCYCLE_UNSUBSCRIBE_URL) {
    throw new SettingsError([
      {
        path: ['LEADCYCLE_UNSUBSCRIBE_SECRET'],
        message:
          'required when LEADCYCLE_SMTP_URL is set (unless LEADCYCLE_UNSUBSCRIBE_URL is): every marketing email carries a signed unsubscribe link',
      },
    ]);
  }
  return {
    dataDir: dataDirOf(e),
    mail: {
      from: e.LEADCYCLE_MAIL_FROM ?? DEFAULT_MAIL_FROM,
      unsubscribeUrl: e.LEADCYCLE_UNSUBSCRIBE_URL ?? null,
      unsubscribeLink: e.LEADCYCLE_UNSUBSCRIBE_SECRET
        ? { baseUrl: publicUrlOf(e), secret: e.LEADCYCLE_UNSUBSCRIBE_SECRET }
        : null,
    },
    smtp: e.LEADCYCLE_SMTP_URL ? { url: e.LEADCYCLE_SMTP_URL, timeoutMs: e.LEADCYCLE_SMTP_TIMEOUT_MS } : null,
    crmWebhook:
      e.LEADCYCLE_CRM_WEBHOOK_URL && e.LEADCYCLE_CRM_WEBHOOK_SECRET
        ? {
            url: e.LEADCYCLE_CRM_WEBHOOK_URL,
            secret: e.LEADCYCLE_CRM_WEBHOOK_SECRET,
            timeoutMs: e.LEADCYCLE_CRM_TIMEOUT_MS,
          }
        : null,
    analytics: {
      LEADCYCLE_DATABASE_URL: e.LEADCYCLE_DATABASE_URL,
      LEADCYCLE_ANALYTICS_BUSY_TIMEOUT_MS: e.LEADCYCLE_ANALYTICS_BUSY_TIMEOUT_MS,
      LEADCYCLE_ANALYTICS_RETRY_MS: e.LEADCYCLE_ANALYTICS_RETRY_MS,
    },
  };
}
