import { describe, expect, it } from 'vitest';
import { ApiKeys } from '../../src/api/auth.js';
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

describe('ApiKeys', () => {
  it('needs at least one non-empty key and names the matching one', () => {
    expect(() => new ApiKeys([' ', ''])).toThrow(/at least one/);
    const keys = new ApiKeys(['one', 'two']);
    expect(keys.match('two')).toBe(1);
    expect(keys.match('tw')).toBeNull();
    expect(keys.authenticate({ 'x-api-key': ' one ' })).toBe('key-0');
    expect(() => keys.authenticate({ authorization: 'Bearer' })).toThrow(/invalid API key/);
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
    expect(error({ LEADCYCLE_API_KEYS: 'k', LEADCYCLE_WEBHOOK_SECRET: 'short' }).issues[0]?.path[0]).toBe(
      'LEADCYCLE_WEBHOOK_SECRET',
    );
    expect(error({ LEADCYCLE_API_KEYS: 'k', LEADCYCLE_BACKTEST_TIMEOUT_MS: '1.5' }).message).toBe(
      'LEADCYCLE_BACKTEST_TIMEOUT_MS: must be a whole number of milliseconds',
    );
    expect(error({ LEADCYCLE_API_KEYS: 'k', LEADCYCLE_BACKTEST_CONCURRENCY: '0' }).message).toBe(
      'LEADCYCLE_BACKTEST_CONCURRENCY: must be positive',
    );
  });

  it('reads keys, port, host, secret and Temporal settings with their defaults', () => {
    expect(apiSettingsFromEnv({ LEADCYCLE_API_KEYS: ' a, b ,,' })).toEqual({
      apiKeys: ['a', 'b'],
      port: 3000,
      host: '127.0.0.1',
      temporalAddress: '127.0.0.1:7233',
      temporalNamespace: 'default',
      dataDir: expect.stringMatching(/\.leadcycle$/),
      backtests: { timeoutMs: 60_000, concurrency: 1 },
    });
    expect(
      apiSettingsFromEnv({
        LEADCYCLE_API_KEYS: 'a',
        LEADCYCLE_API_PORT: '0',
        LEADCYCLE_API_HOST: '0.0.0.0',
        LEADCYCLE_WEBHOOK_SECRET: 'a-long-enough-secret',
        TEMPORAL_ADDRESS: 'temporal:7233',
        LEADCYCLE_TASK_QUEUE: 'q',
        LEADCYCLE_UNSUBSCRIBE_SECRET: 'another-long-secret',
        LEADCYCLE_DATA_DIR: '/srv/leadcycle',
        LEADCYCLE_BACKTEST_TIMEOUT_MS: '5000',
        LEADCYCLE_BACKTEST_CONCURRENCY: '2',
      }),
    ).toMatchObject({
      backtests: { timeoutMs: 5000, concurrency: 2 },
      port: 0,
      host: '0.0.0.0',
      webhookSecret: 'a-long-enough-secret',
      taskQueue: 'q',
      unsubscribeSecret: 'another-long-secret',
      dataDir: '/srv/leadcycle',
    });
  });
});
