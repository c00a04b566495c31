/**
 * The OpenAPI document of the whole API, without a server: the app is built with every optional
 * route group on (analytics, backtests, simulations, config, imports, privacy, webhooks, the
 * vendors' webhooks, unsubscribe) over throwaway stores in a temp dir, and never listens nor reaches Temporal.
 * `npm run openapi` writes it to docs/openapi.json (scripts/openapi.ts); test/api/openapi.test.ts
 * checks that copy is current, lints it and runs a client generated from it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { Outbox } from '../activities/outbox.js';
import { Analytics, openAnalyticsStore } from '../analytics/index.js';
import { LeadClient } from '../client/index.js';
import { LeadIds } from '../client/lead-key.js';
import { ConfigVersions } from '../config-versions.js';
import { buildApi } from './server.js';

/** Where the document is committed, from the repository's root (`npm run openapi` writes it). */
export const OPENAPI_FILE = 'docs/openapi.json';

/** The document as committed: indented JSON and a final newline. */
export async function openApiText(): Promise<string> {
  return `${JSON.stringify(await openApiDocument(), null, 2)}\n`;
}

/** Placeholders: the document holds no key nor secret, and nothing here is ever called. */
const UNUSED = 'openapi-document-0123456789abcdef';

export async function openApiDocument(): Promise<ReturnType<FastifyInstance['swagger']>> {
  const dir = await mkdtemp(join(tmpdir(), 'leadcycle-openapi-'));
  const store = openAnalyticsStore(dir);
  const outbox = new Outbox(dir);
  try {
    // A Client without a connection connects on its first call, and none is made.
    const client = new LeadClient(new Client(), { leadIds: new LeadIds(UNUSED) });
    const app = await buildApi({
      client,
      apiKeys: [UNUSED],
      analytics: new Analytics(store),
      simulations: {
        run: () => Promise.reject(new Error('the OpenAPI document runs no simulation')),
      },
      configVersions: new ConfigVersions(join(dir, 'config')),
      imports: { dataDir: join(dir, 'imports') },
      privacy: { store, outbox },
      webhookSecrets: { forms: `${UNUSED}-forms`, crm: `${UNUSED}-crm` },
      vendorSecrets: {
        hubspot: `${UNUSED}-hubspot`,
        mautic: `${UNUSED}-mautic`,
        typeform: `${UNUSED}-typeform`,
      },
      vendorReplayFile: join(dir, 'vendor-replays.log'),
      unsubscribeSecret: UNUSED,
    });
    try {
      await app.ready();
      return app.swagger();
    } finally {
      await app.close();
    }
  } finally {
    await store.close();
    await outbox.close();
    await rm(dir, { recursive: true, force: true });
  }
}
