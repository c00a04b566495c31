import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Payload } from '@temporalio/common';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';
import { PROBLEM_CONTENT_TYPE, problemOf } from '../api/problems.js';
import { issuesOf, LeadcycleError } from '../errors.js';
import type { AesGcmCodec } from './aes-gcm.js';

/**
 * The codec server the Temporal UI calls (`--ui-codec-endpoint`) so operators see decoded payloads:
 * `POST /encode` and `POST /decode` with `{ payloads: [{ metadata: {k: base64}, data: base64 }] }`.
 * CORS admits only the UI's origins. With a token or a userinfo URL configured, requests need
 * `Authorization: Bearer`; `startCodecServer` refuses to listen beyond loopback without either.
 */
export interface CodecServerOptions {
  codec: AesGcmCodec;
  /** Origins allowed by CORS, e.g. http://localhost:8233. */
  origins: string[];
  /** When set, every encode/decode request may carry it as a Bearer token (at least 32 characters). */
  token?: string;
  /**
   * An OIDC provider's userinfo endpoint: a Bearer it answers 2xx for is accepted. That is the UI
   * user's access token, which the Temporal UI sends with TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true (to
   * an https: codec endpoint only).
   */
  userinfoUrl?: string;
  /** How long a token the userinfo endpoint accepted is trusted without asking again. Default 60 s. */
  userinfoCacheMs?: number;
}

/** Anyone holding a shorter token could be guessed at; 32 is what `openssl rand -hex 16` gives. */
export const MIN_CODEC_TOKEN_LENGTH = 32;

/** The codec server would decrypt every payload for anyone who reaches it: it does not start. */
export class CodecServerUnprotectedError extends LeadcycleError<'codec_server_unprotected'> {
  constructor(
    readonly setting: string,
    message: string,
  ) {
    super('codec_server_unprotected', `${setting}: ${message}`);
  }
}

/** 127.0.0.0/8, ::1 and localhost: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return /^::ffff:127\./.test(h);
}

const JsonPayload = z.object({
  metadata: z.record(z.string(), z.string()).optional(),
  data: z.string().optional(),
});
const Body = z.object({ payloads: z.array(JsonPayload).max(1000) });

const fromJson = (p: z.infer<typeof JsonPayload>): Payload => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))]),
  ),
  data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
});
const toJson = (p: Payload) => ({
  metadata: Object.fromEntries(
    Object.entries(p.metadata ?? {}).map(([k, v]) => [
      k,
      Buffer.from(v ?? new Uint8Array()).toString('base64'),
    ]),
  ),
  data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
});

const sameSecret = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** Asks the userinfo endpoint about a token; remembers the ones it accepted for a while. */
function userinfoVerifier(url: string, cacheMs: number) {
  const accepted = new Map<string, number>();
  return async (token: string): Promise<boolean> => {
    if (token === '') return false;
    const id = createHash('sha256').update(token).digest('hex');
    const now = Date.now();
    const until = accepted.get(id);
    if (until !== undefined && until > now) return true;
    accepted.delete(id);
    try {
      const res = await fetch(url, {
        headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
        signal: AbortSignal.timeout(5_000),
      });
      await res.body?.cancel();
      if (!res.ok) return false;
    } catch {
      return false; // an unreachable provider admits no one
    }
    if (accepted.size >= 10_000) accepted.clear();
    accepted.set(id, now + cacheMs);
    return true;
  };
}

export function buildCodecServer({
  codec,
  origins,
  token,
  userinfoUrl,
  userinfoCacheMs = 60_000,
}: CodecServerOptions): FastifyInstance {
  if (token !== undefined && token.length < MIN_CODEC_TOKEN_LENGTH) {
    throw new CodecServerUnprotectedError(
      'LEADCYCLE_CODEC_TOKEN',
      `too short: use at least ${MIN_CODEC_TOKEN_LENGTH} characters (openssl rand -hex 32)`,
    );
  }
  const verify = userinfoUrl ? userinfoVerifier(userinfoUrl, userinfoCacheMs) : undefined;
  const app = Fastify({ bodyLimit: 4 * 1024 * 1024 });

  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (origin && origins.includes(origin)) {
      reply.header('Access-Control-Allow-Origin', origin);
      reply.header('Access-Control-Allow-Credentials', 'true');
      reply.header('Access-Control-Allow-Headers', 'content-type,x-namespace,authorization');
      reply.header('Access-Control-Allow-Methods', 'POST,OPTIONS');
      reply.header('Vary', 'Origin');
    }
    if (request.method === 'OPTIONS') return reply.code(204).send();
    if (token || verify) {
      const given = request.headers.authorization?.replace(/^Bearer /, '') ?? '';
      const ok = (token !== undefined && sameSecret(given, token)) || (verify ? await verify(given) : false);
      if (!ok) return sendProblem(reply, 401, 'unauthorized', 'a valid Bearer token is required');
    }
  });

  for (const [path, op] of [
    ['/encode', 'encode'],
    ['/decode', 'decode'],
  ] as const) {
    app.post(path, async (request, reply) => {
      const body = Body.safeParse(request.body);
      if (!body.success) {
        return sendProblem(reply, 400, 'validation', 'expected { payloads: [{ metadata, data }] }', {
          issues: issuesOf(body.error).map((i) => ({ path: i.path.join('.'), message: i.message })),
        });
      }
      try {
        const out = await codec[op](body.data.payloads.map(fromJson));
        return { payloads: out.map(toJson) };
      } catch (err) {
        return sendProblem(reply, 422, 'codec', (err as Error).message);
      }
    });
  }
  app.get('/healthz', async () => ({ ok: true }));
  return app;
}

/** An error as the API answers them (RFC 9457, src/api/problems.ts). */
function sendProblem(
  reply: FastifyReply,
  status: number,
  code: string,
  detail: string,
  extensions: object = {},
) {
  return reply
    .code(status)
    .type(`${PROBLEM_CONTENT_TYPE}; charset=utf-8`)
    .send(problemOf(status, code, detail, extensions, reply.request.url.split('?')[0]));
}

export interface StartCodecServerOptions extends CodecServerOptions {
  host: string;
  port: number;
}

/**
 * Builds and listens, refusing a non-loopback address without authentication: past this machine,
 * CORS stops no one but browsers, and whoever reaches the server could decrypt every payload.
 * Throws CodecServerUnprotectedError.
 */
export async function startCodecServer(
  options: StartCodecServerOptions,
): Promise<{ app: FastifyInstance; url: string }> {
  if (!isLoopback(options.host) && !options.token && !options.userinfoUrl) {
    throw new CodecServerUnprotectedError(
      'LEADCYCLE_CODEC_TOKEN',
      `required to listen on ${options.host} (not a loopback address): set it (at least ${MIN_CODEC_TOKEN_LENGTH} characters) ` +
        'or LEADCYCLE_CODEC_USERINFO_URL, or listen on 127.0.0.1',
    );
  }
  const app = buildCodecServer(options);
  const url = await app.listen({ host: options.host, port: options.port });
  return { app, url };
}
