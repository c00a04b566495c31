/** The API over real HTTP, on a port of its own, with a real worker and the shared dev server. */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FastifyInstance } from 'fastify';
import { expect } from 'vitest';
import { signPayload } from '../../src/activities/signature.js';
import { type BuildApiOptions, buildApi } from '../../src/api/server.js';
import { createDevServerEnv } from '../support/temporal.js';
import { type LeadHarness, leadHarness } from '../support/workflow.js';

export const API_KEY = 'test-key-0123456789abcdef';
export const SECOND_KEY = 'second-key-fedcba9876543210';
export const WEBHOOK_SECRET = 'whsec-test-0123456789abcdef';
/** The CRM's own secret: the form tools' one cannot sign its commands. */
export const CRM_SECRET = 'whsec-crm-test-fedcba9876543210';

/** What a stack trace looks like in a response body: `at fn (file.ts:1:2)` frames or source paths. */
const STACK_TRACE = /\n\s+at |node_modules|\.ts:\d+|\.js:\d+:\d+/;

export interface ApiResponse {
  status: number;
  headers: Headers;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test code reads arbitrary JSON answers
  json: any;
}

export interface ApiStack {
  env: TestWorkflowEnvironment;
  h: LeadHarness;
  app: FastifyInstance;
  base: string;
  call(
    method: string,
    path: string,
    options?: { body?: unknown; raw?: string | Uint8Array; headers?: Record<string, string>; auth?: boolean },
  ): Promise<ApiResponse>;
  /** POSTs a signed webhook (with its route's secret unless `secret`); `header` overrides the signature. */
  webhook(
    path: string,
    body: unknown,
    options?: { timestamp?: number; secret?: string; header?: string; raw?: string },
  ): Promise<ApiResponse & { signature: string; raw: string }>;
  close(): Promise<void>;
}

/** `options` may be a function of the harness (e.g. a client of its task queue). */
export async function startApiStack(
  given: Partial<BuildApiOptions> | ((h: LeadHarness) => Partial<BuildApiOptions>) = {},
): Promise<ApiStack> {
  const env = await createDevServerEnv();
  const h = await leadHarness(env);
  const options = typeof given === 'function' ? given(h) : given;
  const app = await buildApi({
    client: h.client,
    apiKeys: [API_KEY, SECOND_KEY],
    webhookSecrets: { forms: WEBHOOK_SECRET, crm: CRM_SECRET },
    ...options,
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const base = `http://127.0.0.1:${address.port}`;

  const send = async (
    method: string,
    path: string,
    headers: Record<string, string>,
    body?: string | Uint8Array,
  ) => {
    const response = await h.run(() => fetch(`${base}${path}`, { method, headers, body: body ?? null }));
    const text = await response.text();
    // No answer, whatever went wrong, carries a stack trace.
    expect(text).not.toMatch(STACK_TRACE);
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (response.status >= 400) {
      // Every error is an RFC 9457 problem with a code.
      expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
      expect(json).toMatchObject({
        type: expect.any(String),
        title: expect.any(String),
        status: response.status,
        detail: expect.any(String),
        code: expect.any(String),
      });
    }
    return { status: response.status, headers: response.headers, text, json };
  };

  return {
    env,
    h,
    app,
    base,
    call: (method, path, { body, raw, headers = {}, auth = true } = {}) =>
      send(
        method,
        path,
        {
          ...(body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(auth ? { authorization: `Bearer ${API_KEY}` } : {}),
          ...headers,
        },
        raw ?? (body === undefined ? undefined : JSON.stringify(body)),
      ),
    webhook: async (path, body, { timestamp, secret, header, raw } = {}) => {
      secret ??= path.endsWith('/crm') ? CRM_SECRET : WEBHOOK_SECRET;
      const text = raw ?? JSON.stringify(body);
      const signature = header ?? signPayload(secret, text, timestamp);
      const response = await send(
        'POST',
        path,
        { 'content-type': 'application/json', 'leadcycle-signature': signature },
        text,
      );
      return { ...response, signature, raw: text };
    },
    close: async () => {
      await app.close();
      await h.close();
      await env.teardown();
    },
  };
}

export const unique = () => `t${Date.now()}${Math.floor(Math.random() * 1e6)}`;
