import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { activitiesFromEnv } from '../src/activities/index.js';
import { LeadClient } from '../src/client/index.js';
import { loadDataConverter } from '../src/codec/keys.js';
import { getFreePort, type RunningDevServer, startDevServer } from '../src/temporal/server.js';
import { createLeadWorker } from '../src/worker.js';
import { launchChromium } from './support/chromium.js';
import { BANT_COMPLETE, FIT } from './support/lead.js';
import { payloadText } from './support/payloads.js';
import { eventually } from './support/workflow.js';

/**
 * An operator finds a lead in the real Temporal UI by its stage and temperature, in headless
 * Chromium (Debian's; `scripts/ensure-chromium.sh` installs it before `npm test`), and reads what it
 * waits for on its page. The worker and the client encrypt payloads with the codec, as every entry
 * point does, and the UI has no codec endpoint: what it shows is what anyone reaching it sees. With
 * LEADCYCLE_UPDATE_SCREENSHOT=1 the screenshots replace the ones README shows.
 */
const SCREENSHOT = fileURLToPath(new URL('../docs/temporal-ui-leads.png', import.meta.url));
const LEAD_SCREENSHOT = fileURLToPath(new URL('../docs/temporal-ui-lead.png', import.meta.url));

let server: RunningDevServer | undefined;
let worker: Worker | undefined;
let running: Promise<void> | undefined;
let native: NativeConnection | undefined;
let connection: Connection | undefined;
let browser: Browser | undefined;
let dataDir = '';
let leads: LeadClient;
const hot = { tenant: 'ui', email: 'grace@ui.example' };
const cold = { tenant: 'ui', email: 'alan@ui.example' };

afterAll(async () => {
  await browser?.close();
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
  await native?.close();
  await connection?.close();
  await server?.stop();
});

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-ui-'));
  server = await startDevServer({
    port: await getFreePort(),
    uiPort: await getFreePort(),
    dbFile: join(dataDir, 'temporal.sqlite'),
    dataDir,
    log: () => {},
  });
  // No uiCodecEndpoint: the UI reads payloads as Temporal stores them.
  const { dataConverter } = await loadDataConverter({ LEADCYCLE_DATA_DIR: dataDir });
  native = await NativeConnection.connect({ address: server.address });
  worker = await createLeadWorker({
    connection: native,
    taskQueue: 'ui',
    activities: activitiesFromEnv({ LEADCYCLE_DATA_DIR: dataDir }).activities,
    workflowBundle: { codePath: inject('workflowBundlePath') },
    dataConverter,
  });
  running = worker.run();
  connection = await Connection.connect({ address: server.address });
  leads = new LeadClient(new Client({ connection, dataConverter }), { taskQueue: 'ui' });

  await leads.capture(hot, {
    type: 'form.submitted',
    form: 'demo_request',
    consent: true,
    profile: { ...FIT, email: hot.email },
  });
  await leads.send(hot, { type: 'bant.updated', bant: BANT_COMPLETE });
  expect((await leads.send(hot, { type: 'engagement', kind: 'quote_request' })).stage).toBe('mql');
  await leads.capture(cold, {
    type: 'form.submitted',
    form: 'newsletter',
    consent: true,
    profile: { ...FIT, email: cold.email },
  });
  await eventually(async () =>
    expect((await leads.list({ stage: 'mql' })).map((l) => l.workflowId)).toContain(
      LeadClient.keyOf(hot).workflowId,
    ),
  );

  browser = await launchChromium();
}, 180_000);

const screenshot = (name: string, readme: string) =>
  process.env.LEADCYCLE_UPDATE_SCREENSHOT === '1' ? readme : join(dataDir, name);

describe('the Temporal UI', () => {
  it('finds a lead through the stage filter', async () => {
    const hotId = LeadClient.keyOf(hot).workflowId;
    const coldId = LeadClient.keyOf(cold).workflowId;
    const page = await (browser as Browser).newPage({ viewport: { width: 1400, height: 700 } });
    const query = encodeURIComponent('LeadStage = "mql" AND LeadTemperature = "hot"');
    await page.goto(`${server?.uiUrl}/namespaces/default/workflows?query=${query}`);
    await page.getByText(hotId).first().waitFor({ timeout: 30_000 });
    expect(await page.getByText(coldId).count()).toBe(0);
    await page.screenshot({ path: screenshot('ui.png', SCREENSHOT) });
    await page.close();
  }, 60_000);

  it("shows a lead's stage, what it waits for and its timers without the codec server, and no personal data", async () => {
    const hotId = LeadClient.keyOf(hot).workflowId;
    const page = await (browser as Browser).newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`${server?.uiUrl}/namespaces/default/workflows/${hotId}`);
    // The timeline names each timer by its summary; the User Metadata tab holds the summary set at
    // start and the current details, which the worker answers the UI's metadata query with.
    await page
      .getByText(/^sla\.expired at \d{4}-/)
      .first()
      .waitFor({ timeout: 30_000 });
    await page.getByText('User Metadata').first().click();
    // Each field's markdown renders in an iframe of its own: read them all.
    const metadata = async () => {
      const texts = await Promise.all(
        page.frames().map((f) =>
          f
            .locator('body')
            .textContent()
            .catch(() => ''),
        ),
      );
      return texts.join('\n');
    };
    await eventually(async () => {
      const shown = await metadata();
      expect(shown).toContain('Lead · started by form.submitted (demo_request)');
      expect(shown).toMatch(/Lead · mql · hot · decision · score \d+ · fit \d+%/);
      expect(shown).toContain('sales acceptance (the SLA ends): sla.expired at 20');
    }, 30_000);
    expect(await metadata()).not.toContain('grace');
    await page.screenshot({ path: screenshot('lead.png', LEAD_SCREENSHOT), fullPage: true });
    await page.close();

    // What Temporal stores: the operator texts in the clear, the person encrypted.
    const raw = payloadText(await new Client({ connection }).workflow.getHandle(hotId).fetchHistory());
    expect(raw).toContain('sla.expired at ');
    expect(raw).not.toContain('grace');
  }, 60_000);
});
