import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AesGcmCodec } from '../src/codec/aes-gcm.js';
import { CodecServerUnprotectedError, isLoopback, startCodecServer } from '../src/codec/server.js';
import { readSettings, SettingsError } from '../src/settings.js';

/** The codec server decrypts every payload for whoever reaches it: it opens only with a lock. */
const codec = new AesGcmCodec([{ id: 'k', key: new Uint8Array(randomBytes(32)) }]);
const origins = ['http://localhost:8080'];
const TOKEN = 'codec-token-0123456789abcdef0123456789';

const post = (url: string, authorization?: string) =>
  fetch(`${url}/decode`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: JSON.stringify({ payloads: [] }),
  });

describe('the codec server refuses to open without authentication', () => {
  it('refuses 0.0.0.0 (and any non-loopback address) without a token, naming the setting', async () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10']) {
      const error = await startCodecServer({ codec, origins, host, port: 0 }).catch((e: unknown) => e);
      expect(error, host).toBeInstanceOf(CodecServerUnprotectedError);
      expect(error).toMatchObject({ code: 'codec_server_unprotected', setting: 'LEADCYCLE_CODEC_TOKEN' });
      expect((error as Error).message).toContain(host);
    }
    expect(['127.0.0.1', '127.0.0.2', '::1', 'localhost', '[::1]'].every(isLoopback)).toBe(true);
    expect(['0.0.0.0', '::', '10.0.0.1', 'codec', '::ffff:10.0.0.1'].some(isLoopback)).toBe(false);
  });

  it('refuses a short token, in the settings and in the server', async () => {
    expect(() => readSettings({ LEADCYCLE_CODEC_TOKEN: 'short-token' })).toThrow(SettingsError);
    expect(() => readSettings({ LEADCYCLE_CODEC_TOKEN: 'short-token' })).toThrow(/LEADCYCLE_CODEC_TOKEN/);
    await expect(
      startCodecServer({ codec, origins, host: '0.0.0.0', port: 0, token: 'short-token' }),
    ).rejects.toMatchObject({ code: 'codec_server_unprotected' });
  });

  it('with a token it opens on 0.0.0.0 and answers only a request bearing it', async () => {
    const { app, url } = await startCodecServer({ codec, origins, host: '0.0.0.0', port: 0, token: TOKEN });
    try {
      const port = new URL(url).port;
      const local = `http://127.0.0.1:${port}`;
      const refused = await post(local);
      expect(refused.status).toBe(401);
      expect(await refused.json()).toMatchObject({ type: '/problems/unauthorized', status: 401 });
      expect((await post(local, 'Bearer not-the-token')).status).toBe(401);
      expect((await post(local, `Bearer ${TOKEN}`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('the entry point (src/codec/main.ts, as docker-compose runs it) exits with the setting named', async () => {
    const env = {
      PATH: process.env.PATH,
      LEADCYCLE_CODEC_KEYS: `k:${randomBytes(32).toString('base64')}`,
      LEADCYCLE_CODEC_HOST: '0.0.0.0',
      LEADCYCLE_CODEC_PORT: '0',
    };
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/codec/main.ts'], {
      env,
      timeout: 30_000,
    });
    const failure = (await run.then(
      () => null,
      (e: unknown) => e,
    )) as { code?: number; stderr?: string } | null;
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toContain('LEADCYCLE_CODEC_TOKEN');
  });
});

describe("the codec server accepts the Temporal UI user's access token (OIDC userinfo)", () => {
  // A real HTTP server playing the OIDC provider's userinfo endpoint.
  let provider: Server;
  let userinfoUrl: string;
  const asked: string[] = [];
  beforeAll(async () => {
    provider = createServer((req, res) => {
      asked.push(req.headers.authorization ?? '');
      if (req.headers.authorization === 'Bearer good-access-token') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"sub":"ada"}');
      } else {
        res.writeHead(401).end();
      }
    });
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    userinfoUrl = `http://127.0.0.1:${(provider.address() as AddressInfo).port}/userinfo`;
  });
  afterAll(() => new Promise<void>((resolve) => provider.close(() => resolve())));

  it('admits what the provider accepts, refuses the rest, and asks once per token while cached', async () => {
    const { app, url } = await startCodecServer({ codec, origins, host: '0.0.0.0', port: 0, userinfoUrl });
    try {
      const local = `http://127.0.0.1:${new URL(url).port}`;
      expect((await post(local)).status).toBe(401);
      expect((await post(local, 'Bearer stolen-guess')).status).toBe(401);
      expect((await post(local, 'Bearer good-access-token')).status).toBe(200);
      expect((await post(local, 'Bearer good-access-token')).status).toBe(200);
      expect(asked.filter((a) => a === 'Bearer good-access-token')).toHaveLength(1);
    } finally {
      await app.close();
    }
  });
});
