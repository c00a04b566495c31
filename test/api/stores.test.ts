import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiKeyFormatError, ApiKeys } from '../../src/api/auth.js';
import { apiSettingsFromEnv } from '../../src/api/env.js';
import { fingerprintOf, IdempotencyStore } from '../../src/api/idempotency.js';
import { ReplayCache } from '../../src/api/replay-cache.js';
import { SettingsError } from '../../src/settings.js';

const answer = (payload: string) => ({ status: 200, payload, headers: {} });

describe('IdempotencyStore', () => {
  it('replays a completed request, refuses another body and a concurrent retry', () => {
    const store = new IdempotencyStore();
    const begun = store.begin('k', 'fp1');
    if (begun.kind !== 'new') throw new Error(begun.kind);
    expect(store.begin('k', 'fp1')).toEqual({ kind: 'in_progress' });
    expect(store.begin('k', 'fp2')).toEqual({ kind: 'mismatch' });
    store.complete('k', begun.token, answer('{"a":1}'));
    expect(store.begin('k', 'fp1')).toEqual({ kind: 'replay', response: answer('{"a":1}') });
  });

  it('a released key runs again', () => {
    const store = new IdempotencyStore();
    const begun = store.begin('k', 'fp');
    if (begun.kind !== 'new') throw new Error(begun.kind);
    store.release('k', begun.token);
    expect(store.begin('k', 'fp').kind).toBe('new');
  });

  it('forgets keys after the TTL', () => {
    let now = 0;
    const store = new IdempotencyStore({ ttlMs: 1_000 }, () => now);
    const begun = store.begin('k', 'fp');
    if (begun.kind !== 'new') throw new Error(begun.kind);
    store.complete('k', begun.token, answer('x'));
    now = 999;
    expect(store.begin('k', 'fp').kind).toBe('replay');
    now = 1_001;
    expect(store.begin('k', 'other').kind).toBe('new');
  });

  it('stays within its entry and byte bounds, dropping the least recently used', () => {
    const store = new IdempotencyStore({ maxEntries: 3, maxBytes: 10_000 });
    for (const key of ['a', 'b', 'c', 'd']) {
      const begun = store.begin(key, 'fp');
      if (begun.kind === 'new') store.complete(key, begun.token, answer('x'));
    }
    expect(store.size).toBe(3);
    expect(store.begin('a', 'fp').kind).toBe('new'); // evicted
    const big = new IdempotencyStore({ maxBytes: 5_000 });
    for (let i = 0; i < 10; i++) {
      const begun = big.begin(`k${i}`, 'fp');
      if (begun.kind === 'new') big.complete(`k${i}`, begun.token, answer('y'.repeat(1_000)));
    }
    expect(big.size).toBeLessThanOrEqual(5);
    expect(big.begin('k9', 'fp').kind).toBe('replay');
  });

  it('fingerprints ignore key order but not values, methods or routes', () => {
    const a = fingerprintOf('POST', '/x', { b: 1, a: [1, { d: 2, c: 3 }] });
    expect(fingerprintOf('POST', '/x', { a: [1, { c: 3, d: 2 }], b: 1 })).toBe(a);
    expect(fingerprintOf('POST', '/x', { a: [1, { c: 3, d: 2 }], b: 2 })).not.toBe(a);
    expect(fingerprintOf('POST', '/y', { b: 1, a: [1, { d: 2, c: 3 }] })).not.toBe(a);
  });
});

describe('ReplayCache', () => {
  const body = Buffer.from('{"x":1}');

  it('remembers a delivery until its timestamp is stale', () => {
    let now = 1_000_000;
    const cache = new ReplayCache(300, 100, () => now);
    const t = now / 1000;
    expect(cache.remember(t, body).result).toBe('new');
    expect(cache.remember(t, body).result).toBe('replayed');
    expect(cache.remember(t + 1, body).result).toBe('new'); // another delivery: a new timestamp
    now += 302_000;
    expect(cache.remember(t, body).result).toBe('new');
  });

  it('fails closed when full, and a forgotten delivery may come again', () => {
    const cache = new ReplayCache(300, 2, () => 0);
    const a = cache.remember(1, Buffer.from('a'));
    cache.remember(1, Buffer.from('b'));
    expect(cache.remember(1, Buffer.from('c')).result).toBe('full');
    cache.forget(a.id);
    expect(cache.remember(1, Buffer.from('a')).result).toBe('new');
  });
});

describe('ReplayCache in a file', () => {
  const body = Buffer.from('{"x":1}');

  it('a new cache on the same file still refuses what the old one saw; forgotten and stale entries are pruned', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'leadcycle-replays-'));
    const file = join(dir, 'nested', 'replays.log');
    let now = 1_000_000;
    const t = now / 1000;
    const first = new ReplayCache(300, 100, () => now, file);
    expect(first.remember(t, body).result).toBe('new');
    const failed = first.remember(t, Buffer.from('failed on our side'));
    first.forget(failed.id);
    first.close();

    const second = new ReplayCache(300, 100, () => now, file);
    expect(second.remember(t, body).result).toBe('replayed');
    expect(second.remember(t, Buffer.from('failed on our side')).result).toBe('new');
    second.close();

    now += 302_000; // both stale now: the next open keeps nothing
    const third = new ReplayCache(300, 100, () => now, file);
    expect(third.size).toBe(0);
    third.close();
    expect(await readFile(file, 'utf8')).toBe('');
  });
});

describe('ApiKeys', () => {
  it('needs at least one non-empty key and names the matching one', () => {
    expect(() => new ApiKeys([' ', ''])).toThrow(/at least one/);
    const keys = new ApiKeys(['one', 'two']);
    expect(keys.match('two')).toBe(1);
    expect(keys.match('tw')).toBeNull();
    // The caller's id comes from its key, not from where the key sits in the list.
    const principal = keys.authenticate({ 'x-api-key': ' one ' });
    expect(principal).toMatch(/^key-[0-9a-f]{24}$/);
    expect(new ApiKeys(['zero', 'one']).authenticate({ authorization: 'Bearer one' })).toBe(principal);
    expect(keys.authenticate({ 'x-api-key': 'two' })).not.toBe(principal);
    expect(() => keys.authenticate({ authorization: 'Bearer' })).toThrow(/invalid API key/);
  });

  it('reads tenant lists: `<tenant>[|<tenant>…]:<key>`; a key without one is an admin key', () => {
    const keys = new ApiKeys(['admin-key', 'acme|globex:scoped-key']);
    expect(keys.principal({ 'x-api-key': 'admin-key' })).toEqual({
      id: expect.stringMatching(/^key-/),
      tenants: null,
    });
    expect(keys.principal({ 'x-api-key': 'scoped-key' })).toEqual({
      id: expect.stringMatching(/^key-/),
      tenants: new Set(['acme', 'globex']),
    });
    // The whole entry is not a key: only what follows the tenants is.
    expect(() => keys.principal({ 'x-api-key': 'acme|globex:scoped-key' })).toThrow(/invalid API key/);
    expect(() => new ApiKeys(['bad tenant:key'])).toThrow(ApiKeyFormatError);
    expect(() => new ApiKeys(['acme:'])).toThrow(/no key after its tenants/);
    expect(() => new ApiKeys(['k', 'acme:k'])).toThrow(/twice/);
  });
});

describe('apiSettingsFromEnv', () => {
  it('names the variable at fault', () => {
    const error = (env: NodeJS.ProcessEnv) => {
      try {
        apiSettingsFromEnv(env);
      } catch (err) {
        return err as SettingsError;
      }
      throw new Error('no error');
    };
    expect(error({})).toBeInstanceOf(SettingsError);
    expect(error({}).message).toMatch(/^LEADCYCLE_API_KEYS: not set/);
    expect(error({ LEADCYCLE_API_KEYS: ' , ' }).issues[0]?.path[0]).toBe('LEADCYCLE_API_KEYS');
    expect(error({ LEADCYCLE_API_KEYS: 'k', LEADCYCLE_API_PORT: '70000' }).issues[0]?.path[0]).toBe(
      'LEADCYCLE_API_PORT',
    );
    expect(
      error({ LEADCYCLE_API_KEYS: 'k', LEADCYCLE_API_TEMPORAL_TIMEOUT_MS: '2s' }).issues[0]?.path[0],
    ).toBe('LEADCYCLE_API_TEMPORAL_TIMEOUT_MS');
    expect(
      error({ LEADCYCLE_API_KEYS: 'k', LEADCYCLE_FORMS_WEBHOOK_SECRET: 'short' }).issues[0]?.path[0],
    ).toBe('LEADCYCLE_FORMS_WEBHOOK_SECRET');
    // The one secret of both webhooks is refused, saying what replaces it.
    const shared = error({ LEADCYCLE_API_KEYS: 'k', LEADCYCLE_WEBHOOK_SECRET: 'a-long-enough-secret' });
    expect(shared.issues[0]?.path[0]).toBe('LEADCYCLE_WEBHOOK_SECRET');
    expect(shared.message).toContain('LEADCYCLE_CRM_COMMAND_SECRET');
    const same = 'the-same-secret-for-both';
    expect(
      error({
        LEADCYCLE_API_KEYS: 'k',
        LEADCYCLE_FORMS_WEBHOOK_SECRET: same,
        LEADCYCLE_CRM_COMMAND_SECRET: same,
      }).issues[0]?.path[0],
    ).toBe('LEADCYCLE_CRM_COMMAND_SECRET');
    // A vendor holds its secret: it must not sign the CRM's commands too.
    expect(
      error({
        LEADCYCLE_API_KEYS: 'k',
        LEADCYCLE_MAUTIC_WEBHOOK_SECRET: same,
        LEADCYCLE_CRM_COMMAND_SECRET: same,
      }).issues[0]?.path[0],
    ).toBe('LEADCYCLE_MAUTIC_WEBHOOK_SECRET');
    expect(
      error({ LEADCYCLE_API_KEYS: 'k', LEADCYCLE_TYPEFORM_WEBHOOK_SECRET: 'short' }).issues[0]?.path[0],
    ).toBe('LEADCYCLE_TYPEFORM_WEBHOOK_SECRET');
    // A scoped key's tenants are checked; the message never quotes the key.
    const scoped = error({ LEADCYCLE_API_KEYS: 'admin-key,not a tenant:secret-key' });
    expect(scoped.issues[0]?.path[0]).toBe('LEADCYCLE_API_KEYS');
    expect(scoped.message).toContain('API key 2');
    expect(scoped.message).not.toContain('secret-key');
    expect(error({ LEADCYCLE_API_KEYS: 'k', LEADCYCLE_BACKTEST_TIMEOUT_MS: '1.5' }).message).toBe(
      'LEADCYCLE_BACKTEST_TIMEOUT_MS: must be a whole number of milliseconds',
    );
    expect(error({ LEADCYCLE_API_KEYS: 'k', LEADCYCLE_BACKTEST_CONCURRENCY: '0' }).message).toBe(
      'LEADCYCLE_BACKTEST_CONCURRENCY: must be positive',
    );
  });

  it('reads keys, port, host, secret and Temporal settings with their defaults', () => {
    expect(apiSettingsFromEnv({ LEADCYCLE_API_KEYS: ' a, b ,,acme|globex:c' })).toEqual({
      apiKeys: ['a', 'b', 'acme|globex:c'],
      port: 3000,
      host: '127.0.0.1',
      webhookSecrets: {},
      vendorSecrets: {},
      dataDir: expect.stringMatching(/\.leadcycle$/),
      temporalTimeoutMs: 20_000,
      backtests: { timeoutMs: 60_000, concurrency: 1 },
    });
    expect(
      apiSettingsFromEnv({
        LEADCYCLE_API_KEYS: 'a',
        LEADCYCLE_API_PORT: '0',
        LEADCYCLE_API_HOST: '0.0.0.0',
        LEADCYCLE_FORMS_WEBHOOK_SECRET: 'a-long-enough-secret',
        LEADCYCLE_CRM_COMMAND_SECRET: 'another-crm-secret',
        LEADCYCLE_METRICS_KEY: 'a-long-metrics-key',
        LEADCYCLE_TASK_QUEUE: 'q',
        LEADCYCLE_UNSUBSCRIBE_SECRET: 'another-long-secret',
        LEADCYCLE_DATA_DIR: '/srv/leadcycle',
        LEADCYCLE_API_TEMPORAL_TIMEOUT_MS: '1500',
        LEADCYCLE_BACKTEST_TIMEOUT_MS: '5000',
        LEADCYCLE_BACKTEST_CONCURRENCY: '2',
        LEADCYCLE_HUBSPOT_CLIENT_SECRET: 'a-hubspot-client-secret',
        LEADCYCLE_MAUTIC_WEBHOOK_SECRET: 'a-mautic-webhook-secret',
        LEADCYCLE_TYPEFORM_WEBHOOK_SECRET: 'a-typeform-webhook-secret',
        LEADCYCLE_PUBLIC_URL: 'https://leads.example.com',
      }),
    ).toMatchObject({
      vendorSecrets: {
        hubspot: 'a-hubspot-client-secret',
        mautic: 'a-mautic-webhook-secret',
        typeform: 'a-typeform-webhook-secret',
      },
      publicUrl: 'https://leads.example.com',
      temporalTimeoutMs: 1500,
      backtests: { timeoutMs: 5000, concurrency: 2 },
      port: 0,
      host: '0.0.0.0',
      webhookSecrets: { forms: 'a-long-enough-secret', crm: 'another-crm-secret' },
      metricsKey: 'a-long-metrics-key',
      taskQueue: 'q',
      unsubscribeSecret: 'another-long-secret',
      dataDir: '/srv/leadcycle',
    });
  });
});
