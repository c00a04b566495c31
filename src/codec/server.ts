import { timingSafeEqual } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { issuesOf } from '../errors.js';
import type { AesGcmCodec } from './aes-gcm.js';

/**
 * The codec server the Temporal UI calls (`--ui-codec-endpoint`) so operators see decoded payloads:
 * `POST /encode` and `POST /decode` with `{ payloads: [{ metadata: {k: base64}, data: base64 }] }`.
 * CORS admits only the UI's origins. With a token configured, requests need `Authorization: Bearer`.
 */
export interface CodecServerOptions {
  codec: AesGcmCodec;
  /** Origins allowed by CORS, e.g. http://localhost:8233. */
  origins: string[];
  /** When set, every encode/decode request must carry it as a Bearer token. */
  token?: string;
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

export function buildCodecServer({ codec, origins, token }: CodecServerOptions): FastifyInstance {
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
    if (token) {
      const given = request.headers.authorization?.replace(/^Bearer /, '') ?? '';
      if (!sameSecret(given, token))
        return reply
          .code(401)
          .send({ error: { code: 'unauthorized', message: 'a valid Bearer token is required' } });
    }
  });

  for (const [path, op] of [
    ['/encode', 'encode'],
    ['/decode', 'decode'],
  ] as const) {
    app.post(path, async (request, reply) => {
      const body = Body.safeParse(request.body);
      if (!body.success) {
        return reply.code(400).send({
          error: {
            code: 'validation',
            message: 'expected { payloads: [{ metadata, data }] }',
            issues: issuesOf(body.error).map((i) => ({ path: i.path.join('.'), message: i.message })),
          },
        });
      }
      try {
        const out = await codec[op](body.data.payloads.map(fromJson));
        return { payloads: out.map(toJson) };
      } catch (err) {
        return reply.code(422).send({ error: { code: 'codec', message: (err as Error).message } });
      }
    });
  }
  app.get('/healthz', async () => ({ ok: true }));
  return app;
}
