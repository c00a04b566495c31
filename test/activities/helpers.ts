/** Fixtures for the activity tests: effects as the machine emits them, temp dirs, a real SMTP server. */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import type { Effect } from '../../src/machines/index.js';

export type ContentSend = Extract<Effect, { type: 'content.send' }>;
export type SalesHandoff = Extract<Effect, { type: 'sales.handoff' }>;
export type StageChanged = Extract<Effect, { type: 'stage.changed' }>;

export const AT = Date.UTC(2025, 0, 15, 9, 30);

export const contentSend = (over: Partial<ContentSend> = {}): ContentSend => ({
  type: 'content.send',
  kind: 'nurture',
  family: 'evaluation',
  buyingStage: 'consideration',
  item: { id: 'evaluation-2', title: 'Evaluation guide #2', url: 'https://example.com/content/evaluation-2' },
  at: AT,
  ...over,
});

export const salesHandoff = (over: Partial<SalesHandoff> = {}): SalesHandoff => ({
  type: 'sales.handoff',
  slaDeadline: AT + 48 * 3600_000,
  escalation: false,
  score: 62,
  temperature: 'hot',
  buyingStage: 'decision',
  at: AT,
  ...over,
});

export const stageChanged = (over: Partial<StageChanged> = {}): StageChanged => ({
  type: 'stage.changed',
  from: 'lead',
  to: 'mql',
  at: AT,
  cause: 'engagement',
  reason: null,
  ...over,
});

export const handoffLead = {
  profile: {
    email: 'ada@acme.example',
    firstName: 'Ada',
    company: 'Acme',
    companySize: 300,
    sector: 'software',
  },
  score: 62,
  fitScore: 90,
  persona: 'it-decision-maker',
  temperature: 'hot' as const,
  buyingStage: 'decision' as const,
  stage: 'mql' as const,
  consent: 'granted' as const,
  doNotContact: false,
};

/** A fresh temp dir per test; removed by the returned cleanup. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'leadcycle-activities-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface ReceivedMail {
  from: string | undefined;
  to: string[];
  raw: string;
  headers: Map<string, string>;
}

/** Parses the header block of a raw message (unfolding continuation lines); names are lower-cased. */
export function parseHeaders(raw: string): Map<string, string> {
  const block = raw.split(/\r?\n\r?\n/, 1)[0] ?? '';
  const headers = new Map<string, string>();
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

/** A real SMTP server on 127.0.0.1 (random port), plain text, with user/pass auth. */
export async function startSmtpServer(options: Partial<SMTPServerOptions> = {}) {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      if (auth.username === 'mailer' && auth.password === 's3cret') callback(null, { user: auth.username });
      else callback(new Error('bad credentials'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw,
          headers: parseHeaders(raw),
        });
        callback();
      });
    },
    ...options,
  });
  // A client that vanishes mid-session (a worker killed with -9) is a connection error the server
  // emits: kept here, for a test to look at, rather than thrown as an uncaught exception.
  const connectionErrors: Error[] = [];
  server.on('error', (err) => connectionErrors.push(err));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    url: `smtp://mailer:s3cret@127.0.0.1:${port}`,
    received,
    connectionErrors,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface ReceivedRequest {
  method: string | undefined;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A real HTTP server on 127.0.0.1; `respond` decides each answer after the whole body arrived. */
export async function startHttpServer(
  respond: (req: ReceivedRequest, res: ServerResponse) => void = (_req, res) => res.end('ok'),
) {
  const received: ReceivedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const request = {
        method: req.method,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      received.push(request);
      respond(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/leadcycle`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
