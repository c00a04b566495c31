import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { activitiesFromEnv, DEFAULT_MAIL_FROM, loadActivityConfig } from '../../src/activities/index.js';
import { SettingsError } from '../../src/settings.js';

const configError = (env: NodeJS.ProcessEnv) => {
  try {
    loadActivityConfig(env);
  } catch (err) {
    if (err instanceof SettingsError) return err;
    throw err;
  }
  throw new Error('expected a SettingsError');
};

describe('configuration from the environment', () => {
  // test/package.test.ts shows it from an installed package: not inside node_modules.
  it('defaults to the outbox under <working directory>/.leadcycle', () => {
    expect(loadActivityConfig({})).toEqual({
      dataDir: join(process.cwd(), '.leadcycle'),
      mail: { from: DEFAULT_MAIL_FROM, unsubscribeUrl: null, unsubscribeLink: null },
      smtp: null,
      crmWebhook: null,
      analytics: { LEADCYCLE_ANALYTICS_BUSY_TIMEOUT_MS: 100, LEADCYCLE_ANALYTICS_RETRY_MS: 2_000 },
    });
  });

  it("reads the analytics store's busy timeout and retry interval, naming a bad one", () => {
    expect(
      loadActivityConfig({ LEADCYCLE_ANALYTICS_BUSY_TIMEOUT_MS: '50', LEADCYCLE_ANALYTICS_RETRY_MS: ' ' })
        .analytics,
    ).toEqual({ LEADCYCLE_ANALYTICS_BUSY_TIMEOUT_MS: 50, LEADCYCLE_ANALYTICS_RETRY_MS: 2_000 });
    expect(configError({ LEADCYCLE_ANALYTICS_BUSY_TIMEOUT_MS: 'soon' }).issues).toEqual([
      { path: ['LEADCYCLE_ANALYTICS_BUSY_TIMEOUT_MS'], message: expect.any(String) },
    ]);
  });

  it('treats empty variables as unset', () => {
    expect(
      loadActivityConfig({ LEADCYCLE_DATA_DIR: '', LEADCYCLE_SMTP_URL: ' ', LEADCYCLE_CRM_WEBHOOK_URL: '' }),
    ).toMatchObject({ smtp: null, crmWebhook: null, dataDir: join(process.cwd(), '.leadcycle') });
  });

  it('reads SMTP and webhook settings', () => {
    const config = loadActivityConfig({
      LEADCYCLE_DATA_DIR: '/tmp/lc',
      LEADCYCLE_SMTP_URL: 'smtp://user:pass@mail.example:587',
      LEADCYCLE_MAIL_FROM: 'Acme <hello@acme.example>',
      LEADCYCLE_UNSUBSCRIBE_URL: 'https://acme.example/u/{leadKey}',
      LEADCYCLE_CRM_WEBHOOK_URL: 'https://crm.example/hooks/lead?token=abc',
      LEADCYCLE_CRM_WEBHOOK_SECRET: 'whsec_0123456789abcdef',
      LEADCYCLE_CRM_TIMEOUT_MS: '5000',
      LEADCYCLE_ANALYTICS_BUSY_TIMEOUT_MS: '250',
    });
    expect(config).toEqual({
      dataDir: '/tmp/lc',
      mail: {
        from: 'Acme <hello@acme.example>',
        unsubscribeUrl: 'https://acme.example/u/{leadKey}',
        unsubscribeLink: null,
      },
      smtp: { url: 'smtp://user:pass@mail.example:587', timeoutMs: undefined },
      crmWebhook: {
        url: 'https://crm.example/hooks/lead?token=abc',
        secret: 'whsec_0123456789abcdef',
        timeoutMs: 5000,
      },
      analytics: { LEADCYCLE_ANALYTICS_BUSY_TIMEOUT_MS: 250, LEADCYCLE_ANALYTICS_RETRY_MS: 2_000 },
    });
  });

  it('requires the webhook secret when the webhook URL is set', () => {
    const error = configError({ LEADCYCLE_CRM_WEBHOOK_URL: 'https://crm.example/hooks' });
    expect(error.code).toBe('invalid_settings');
    expect(error.issues).toEqual([
      { path: ['LEADCYCLE_CRM_WEBHOOK_SECRET'], message: expect.stringContaining('required when') },
    ]);
    expect(error.message).toContain('LEADCYCLE_CRM_WEBHOOK_SECRET');
    expect(() => activitiesFromEnv({ LEADCYCLE_CRM_WEBHOOK_URL: 'https://crm.example/hooks' })).toThrow();
  });

  it('names every bad variable at once, and why', () => {
    const error = configError({
      LEADCYCLE_SMTP_URL: 'http://mail.example',
      LEADCYCLE_MAIL_FROM: 'nobody',
      LEADCYCLE_UNSUBSCRIBE_URL: 'not a url {leadKey}',
      LEADCYCLE_CRM_WEBHOOK_URL: 'ftp://crm.example',
      LEADCYCLE_CRM_WEBHOOK_SECRET: 'short',
      LEADCYCLE_CRM_TIMEOUT_MS: 'soon',
    });
    expect(error.issues.map((i) => i.path[0]).sort()).toEqual([
      'LEADCYCLE_CRM_TIMEOUT_MS',
      'LEADCYCLE_CRM_WEBHOOK_SECRET',
      'LEADCYCLE_CRM_WEBHOOK_URL',
      'LEADCYCLE_MAIL_FROM',
      'LEADCYCLE_SMTP_URL',
      'LEADCYCLE_UNSUBSCRIBE_URL',
    ]);
    expect(error.issues.find((i) => i.path[0] === 'LEADCYCLE_SMTP_URL')?.message).toContain('smtp://');
  });

  it('requires a sender address and an unsubscribe link with SMTP', () => {
    const error = configError({ LEADCYCLE_SMTP_URL: 'smtp://mail.example:25' });
    expect(error.issues.map((i) => i.path[0])).toEqual(['LEADCYCLE_MAIL_FROM']);
    // Checked by the activities, not the shared schema: `npm start` makes a local secret after reading it.
    const noLink = configError({
      LEADCYCLE_SMTP_URL: 'smtp://mail.example:25',
      LEADCYCLE_MAIL_FROM: 'a@acme.example',
    });
    expect(noLink.issues.map((i) => i.path[0])).toEqual(['LEADCYCLE_UNSUBSCRIBE_SECRET']);
    const withTemplate = {
      LEADCYCLE_SMTP_URL: 'smtp://mail.example:25',
      LEADCYCLE_MAIL_FROM: 'hello@acme.example',
      LEADCYCLE_UNSUBSCRIBE_URL: 'https://acme.example/u/{leadKey}',
    };
    expect(loadActivityConfig(withTemplate).mail.unsubscribeLink).toBeNull();
  });

  it('signs unsubscribe links for the public URL, by default the API address', () => {
    const secret = 'unsub-0123456789abcdef';
    expect(loadActivityConfig({ LEADCYCLE_UNSUBSCRIBE_SECRET: secret }).mail.unsubscribeLink).toEqual({
      baseUrl: 'http://127.0.0.1:3000',
      secret,
    });
    expect(
      loadActivityConfig({
        LEADCYCLE_UNSUBSCRIBE_SECRET: secret,
        LEADCYCLE_API_HOST: '0.0.0.0',
        LEADCYCLE_API_PORT: '8080',
      }).mail.unsubscribeLink?.baseUrl,
    ).toBe('http://127.0.0.1:8080');
    expect(
      loadActivityConfig({
        LEADCYCLE_UNSUBSCRIBE_SECRET: secret,
        LEADCYCLE_PUBLIC_URL: 'https://leads.acme.example/lc',
      }).mail.unsubscribeLink?.baseUrl,
    ).toBe('https://leads.acme.example/lc');
    const bad = configError({
      LEADCYCLE_UNSUBSCRIBE_SECRET: 'short',
      LEADCYCLE_PUBLIC_URL: 'leads.acme.example',
    });
    expect(bad.issues.map((i) => i.path[0]).sort()).toEqual([
      'LEADCYCLE_PUBLIC_URL',
      'LEADCYCLE_UNSUBSCRIBE_SECRET',
    ]);
  });

  it('describes the real adapters without their secrets', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-describe-'));
    const wired = activitiesFromEnv({
      LEADCYCLE_DATA_DIR: dataDir,
      LEADCYCLE_SMTP_URL: 'smtp://user:hunter2@mail.example:587',
      LEADCYCLE_MAIL_FROM: 'Acme <hello@acme.example>',
      LEADCYCLE_UNSUBSCRIBE_SECRET: 'unsub-0123456789abcdef',
      LEADCYCLE_CRM_WEBHOOK_URL: 'https://crm.example/hooks/lead?token=abc',
      LEADCYCLE_CRM_WEBHOOK_SECRET: 'whsec_0123456789abcdef',
    });
    const text = wired.describe();
    await wired.close();
    await rm(dataDir, { recursive: true, force: true });
    expect(text).toContain('SMTP smtp://mail.example:587 from hello@acme.example');
    expect(text).toContain('signed webhook https://crm.example/hooks/lead');
    expect(text).not.toMatch(/hunter2|token=abc|whsec|unsub-/);
  });
});
