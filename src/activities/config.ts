import { z } from 'zod';
import { resolveDataDir } from '../paths.js';
import type { SmtpSettings } from './content-sender.js';
import type { WebhookSettings } from './crm.js';
import { type MailSettings, mailboxAddress, unsubscribeUrlFor } from './email.js';
import { ConfigError } from './errors.js';

/** Used when nothing is sent for real (the outbox), where no mail server checks the sender. */
export const DEFAULT_MAIL_FROM = 'Leadcycle <leadcycle@localhost>';

export interface ActivityConfig {
  dataDir: string;
  mail: MailSettings;
  /** null: emails go to the outbox. */
  smtp: SmtpSettings | null;
  /** null: handoffs go to the outbox. */
  crmWebhook: WebhookSettings | null;
}

export { projectRoot, resolveDataDir } from '../paths.js';

/** An unset and an empty variable mean the same (a blank line in a .env file). */
const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (typeof v === 'string' && v.trim() === '' ? undefined : v), schema.optional());

const isUrl = (s: string, protocols: string[]) => {
  try {
    return protocols.includes(new URL(s).protocol);
  } catch {
    return false;
  }
};

const EnvSchema = z
  .object({
    LEADCYCLE_DATA_DIR: optional(z.string()),
    LEADCYCLE_SMTP_URL: optional(
      z
        .string()
        .trim()
        .refine((s) => isUrl(s, ['smtp:', 'smtps:']), 'must be a URL like smtp://user:pass@host:587'),
    ),
    LEADCYCLE_MAIL_FROM: optional(
      z
        .string()
        .trim()
        .refine(
          (s) => z.email().safeParse(mailboxAddress(s)).success,
          'must be an address, or "Name <address>"',
        ),
    ),
    LEADCYCLE_UNSUBSCRIBE_URL: optional(
      z
        .string()
        .trim()
        .refine(
          (s) => isUrl(unsubscribeUrlFor(s, 'lead'), ['https:', 'http:', 'mailto:']),
          'must be an https:, http: or mailto: URL, with {leadKey} where the lead key goes',
        ),
    ),
    LEADCYCLE_CRM_WEBHOOK_URL: optional(
      z
        .string()
        .trim()
        .refine((s) => isUrl(s, ['https:', 'http:']), 'must be an http(s) URL'),
    ),
    LEADCYCLE_CRM_WEBHOOK_SECRET: optional(
      // Anyone holding one signed request can try secrets offline: a short one would not hold.
      z.string().min(16, 'must be at least 16 characters'),
    ),
    LEADCYCLE_CRM_TIMEOUT_MS: optional(
      z.coerce.number().int('must be a whole number of milliseconds').positive('must be positive'),
    ),
    LEADCYCLE_SMTP_TIMEOUT_MS: optional(
      z.coerce.number().int('must be a whole number of milliseconds').positive('must be positive'),
    ),
  })
  .superRefine((env, ctx) => {
    if (env.LEADCYCLE_CRM_WEBHOOK_URL && !env.LEADCYCLE_CRM_WEBHOOK_SECRET) {
      ctx.addIssue({
        code: 'custom',
        path: ['LEADCYCLE_CRM_WEBHOOK_SECRET'],
        message: 'required when LEADCYCLE_CRM_WEBHOOK_URL is set: every webhook is signed with it',
      });
    }
    if (env.LEADCYCLE_SMTP_URL && !env.LEADCYCLE_MAIL_FROM) {
      ctx.addIssue({
        code: 'custom',
        path: ['LEADCYCLE_MAIL_FROM'],
        message: 'required when LEADCYCLE_SMTP_URL is set: the sender address of every email',
      });
    }
  });

/** Reads and checks the variables; throws ConfigError listing every problem. */
export function loadActivityConfig(env: NodeJS.ProcessEnv = process.env): ActivityConfig {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? 'environment'), message: i.message })),
    );
  }
  const e = parsed.data;
  return {
    dataDir: resolveDataDir(env),
    mail: {
      from: e.LEADCYCLE_MAIL_FROM ?? DEFAULT_MAIL_FROM,
      unsubscribeUrl: e.LEADCYCLE_UNSUBSCRIBE_URL ?? null,
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
  };
}
