/**
 * Where a process's LeadIds come from: `LEADCYCLE_LEAD_ID_SECRET`, else `<data dir>/lead-id-secret`,
 * made on first start (mode 0600, like the API key and the codec key). The worker, the API, the CLI
 * and `npm start` each load it once at start-up and install it (useLeadIds) before naming a lead;
 * the CLI only reads it.
 */
import { randomBytes } from 'node:crypto';
import { link, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dataDirOf } from '../paths.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../private-fs.js';
import { readSettings } from '../settings.js';
import { LeadIds, LeadIdsError, MIN_LEAD_ID_SECRET_LENGTH } from './lead-key.js';

export const LEAD_ID_SECRET_FILE = 'lead-id-secret';

/** Files only a deployment from before keyed lead ids, or one whose secret was lost, has without the secret. */
const EARLIER_DATA = ['leadcycle.db', 'outbox.jsonl', 'temporal.sqlite'];

/**
 * `create: false` (the CLI, a one-off next to a deployment): a missing secret is an error, not a new
 * one, which would name every lead differently from the worker and the API.
 */
export async function loadLeadIds(
  env: NodeJS.ProcessEnv = process.env,
  { create = true }: { create?: boolean } = {},
): Promise<{ ids: LeadIds; source: string }> {
  const settings = readSettings(env);
  const legacy = settings.LEADCYCLE_LEAD_IDS === 'legacy';
  if (settings.LEADCYCLE_LEAD_ID_SECRET) {
    return {
      ids: new LeadIds(settings.LEADCYCLE_LEAD_ID_SECRET, legacy),
      source: 'LEADCYCLE_LEAD_ID_SECRET',
    };
  }
  const dataDir = dataDirOf(settings);
  const file = join(dataDir, LEAD_ID_SECRET_FILE);
  let secret = await readSecret(file);
  if (secret === null && !create) {
    throw new LeadIdsError(
      'lead_id_secret_missing',
      `LEADCYCLE_LEAD_ID_SECRET: not set, and no ${file}: give the deployment's secret ` +
        '(the one its worker and API use), or start the stack once to make it',
    );
  }
  if (secret === null) {
    // Data but no secret: leads from before keyed ids (or a lost secret). A new secret would quietly
    // make every one of them a stranger (a capture would start a second lead), so the operator says.
    const earlier = await earlierDataIn(dataDir);
    if (earlier && settings.LEADCYCLE_LEAD_IDS === undefined && (await readSecret(file)) === null) {
      throw new LeadIdsError(
        'lead_ids_undecided',
        `LEADCYCLE_LEAD_IDS: ${dataDir} holds data (${earlier}) but no ${LEAD_ID_SECRET_FILE}: ` +
          'set LEADCYCLE_LEAD_IDS=legacy to keep finding the leads started before keyed lead ids, ' +
          'or LEADCYCLE_LEAD_IDS=keyed if there are none (see README: Personal data)',
      );
    }
    secret = await createSecret(dataDir, file);
  }
  return { ids: new LeadIds(secret, legacy), source: file };
}

async function readSecret(file: string): Promise<string | null> {
  const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (text === null) return null;
  const secret = text.trim();
  if (secret.length < MIN_LEAD_ID_SECRET_LENGTH) {
    throw new LeadIdsError(
      'lead_id_secret_invalid',
      `${file} holds no lead id secret (${MIN_LEAD_ID_SECRET_LENGTH}+ characters): restore it from a backup`,
    );
  }
  return secret;
}

async function earlierDataIn(dataDir: string): Promise<string | null> {
  for (const name of EARLIER_DATA) {
    const found = await stat(join(dataDir, name)).catch(() => null);
    if (found) return name;
  }
  return null;
}

/**
 * Written whole under a temp name, then linked into place: a process starting beside this one (the
 * API beside the worker) reads either no file or the whole secret, and the first link wins.
 */
async function createSecret(dataDir: string, file: string): Promise<string> {
  await ensurePrivateDir(dataDir);
  const temp = join(dataDir, `.${LEAD_ID_SECRET_FILE}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(temp, `${randomBytes(32).toString('hex')}\n`, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  try {
    await link(temp, file).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  } finally {
    await rm(temp, { force: true });
  }
  return (await readSecret(file)) as string;
}
