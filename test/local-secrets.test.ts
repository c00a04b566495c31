import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CRM_COMMAND_SECRET_FILE,
  FORMS_WEBHOOK_SECRET_FILE,
  localWebhookSecrets,
} from '../src/local-secrets.js';
import { startApiStack, unique } from './api/support.js';

/** "Tenants are whole" (issue #14): `npm start` turns the webhooks on with secrets of its own. */
const fresh = () => mkdtemp(join(tmpdir(), 'leadcycle-secrets-'));
const mode = async (path: string) => (await stat(path)).mode & 0o777;

describe("start's webhook secret", () => {
  it('is made once per data dir, 0600 in a 0700 dir, one for the forms and another for the CRM', async () => {
    const dataDir = join(await fresh(), 'data');
    const first = await localWebhookSecrets({}, dataDir);
    expect(first.secrets.forms).toMatch(/^[0-9a-f]{64}$/);
    expect(first.secrets.crm).toMatch(/^[0-9a-f]{64}$/);
    expect(first.secrets.forms).not.toBe(first.secrets.crm);
    expect(first.sources).toEqual({
      forms: join(dataDir, FORMS_WEBHOOK_SECRET_FILE),
      crm: join(dataDir, CRM_COMMAND_SECRET_FILE),
    });
    expect(await mode(dataDir)).toBe(0o700);
    expect(await mode(first.sources.forms)).toBe(0o600);
    expect(await mode(first.sources.crm)).toBe(0o600);
    expect((await readFile(first.sources.forms, 'utf8')).trim()).toBe(first.secrets.forms);
    // The next start reads the same ones.
    expect(await localWebhookSecrets({}, dataDir)).toEqual(first);
  });

  it('explicit env settings win, and a file left looser is tightened to 0600', async () => {
    const dataDir = await fresh();
    await writeFile(join(dataDir, CRM_COMMAND_SECRET_FILE), 'a-crm-secret-made-by-hand-0123\n', {
      mode: 0o644,
    });
    const got = await localWebhookSecrets(
      { LEADCYCLE_FORMS_WEBHOOK_SECRET: 'from-the-env-0123456789' },
      dataDir,
    );
    expect(got.secrets).toEqual({ forms: 'from-the-env-0123456789', crm: 'a-crm-secret-made-by-hand-0123' });
    expect(got.sources.forms).toBe('LEADCYCLE_FORMS_WEBHOOK_SECRET');
    expect(await mode(join(dataDir, CRM_COMMAND_SECRET_FILE))).toBe(0o600);
  });

  it("answers the walk-through's webhook path with the local secrets", async () => {
    const { secrets } = await localWebhookSecrets({}, await fresh());
    const api = await startApiStack({ webhookSecrets: secrets });
    try {
      const tenant = unique();
      const body = { tenant, email: 'grace@hopper.example', form: 'demo_request', consent: true };
      const form = await api.webhook('/v1/webhooks/forms', body, { secret: secrets.forms });
      expect(form.status).toBe(200);
      expect(form.json).toMatchObject({ stage: 'lead', consent: 'granted' });
      const crm = await api.webhook(
        '/v1/webhooks/crm',
        {
          lead: { tenant, email: 'grace@hopper.example' },
          command: { type: 'bant.updated', bant: { need: true } },
        },
        { secret: secrets.crm },
      );
      expect(crm.status).toBe(200);
      // The forms' secret cannot sign CRM commands.
      const forged = await api.webhook(
        '/v1/webhooks/crm',
        { lead: { tenant, email: 'grace@hopper.example' }, command: { type: 'deal.won' } },
        { secret: secrets.forms },
      );
      expect(forged.status).toBe(401);
    } finally {
      await api.close();
    }
  }, 60_000);
});
