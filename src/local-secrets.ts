/**
 * The local stack's own secrets (`npm start`): made once, kept in the data dir (0600 in a 0700
 * folder, see src/private-fs.ts), never in the repo. An explicit env setting always wins.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensurePrivateDir, tightenFileSync } from './private-fs.js';
import type { Settings } from './settings.js';

export const API_KEY_FILE = 'api-key';
export const UNSUBSCRIBE_SECRET_FILE = 'unsubscribe-secret';
export const DASHBOARD_SECRET_FILE = 'dashboard-secret';
export const FORMS_WEBHOOK_SECRET_FILE = 'forms-webhook-secret';
export const CRM_COMMAND_SECRET_FILE = 'crm-command-secret';

/** A secret kept in `<dataDir>/<name>`: made (random, 64 hex digits) the first time, read after. */
export async function localSecret(dataDir: string, name: string): Promise<string> {
  const file = join(dataDir, name);
  await ensurePrivateDir(dataDir);
  await writeFile(file, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' }).catch(
    (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    },
  );
  // One made by an older version, or by hand, with a looser mode.
  tightenFileSync(file);
  return (await readFile(file, 'utf8')).trim();
}

export interface LocalWebhookSecrets {
  secrets: { forms: string; crm: string };
  /** Where each came from: the env setting's name, or the file's path. */
  sources: { forms: string; crm: string };
}

/**
 * The webhooks' secrets on the local stack: LEADCYCLE_FORMS_WEBHOOK_SECRET and
 * LEADCYCLE_CRM_COMMAND_SECRET when set, else one of its own each, kept beside the API key. Two
 * secrets, as in production: whoever can sign form captures cannot command leads.
 */
export async function localWebhookSecrets(
  settings: Pick<Settings, 'LEADCYCLE_FORMS_WEBHOOK_SECRET' | 'LEADCYCLE_CRM_COMMAND_SECRET'>,
  dataDir: string,
): Promise<LocalWebhookSecrets> {
  const pick = async (value: string | undefined, setting: string, file: string) =>
    value
      ? { secret: value, source: setting }
      : { secret: await localSecret(dataDir, file), source: join(dataDir, file) };
  const forms = await pick(
    settings.LEADCYCLE_FORMS_WEBHOOK_SECRET,
    'LEADCYCLE_FORMS_WEBHOOK_SECRET',
    FORMS_WEBHOOK_SECRET_FILE,
  );
  const crm = await pick(
    settings.LEADCYCLE_CRM_COMMAND_SECRET,
    'LEADCYCLE_CRM_COMMAND_SECRET',
    CRM_COMMAND_SECRET_FILE,
  );
  return {
    secrets: { forms: forms.secret, crm: crm.secret },
    sources: { forms: forms.source, crm: crm.source },
  };
}
