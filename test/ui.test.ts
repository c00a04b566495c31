import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { activitiesFromEnv } from '../src/activities/index.js';
import { LeadClient } from '../src/client/index.js';
import { getFreePort, type RunningDevServer, startDevServer } from '../src/temporal/server.js';
import { createLeadWorker } from '../src/worker.js';
import { BANT_COMPLETE, FIT } from './support/lead.js';
import { eventually } from './support/workflow.js';

/**
 * An operator finds a lead in the real Temporal UI by its stage and temperature, in headless
 * Chromium (Debian's; `scripts/ensure-chromium.sh` installs it before `npm test`). With
 * LEADCYCLE_UPDATE_SCREENSHOT=1 the screenshot replaces the one README shows.
 */
const SCREENSHOT = fileURLToPath(new URL('../docs/temporal-ui-leads.png', import.meta.url));
const LEAD_SCREENSHOT = fileURLToPath(new URL('../docs/temporal-ui-lead.png', import.meta.url));
const CHROMIUM = process.env.LEADCYCLE_CHROMIUM ?? '/usr/bin/chromium';

let server: RunningDevServer | undefined;
let worker: Worker | undefined;
let running: Promise<void> | undefined;
let native: NativeConnection | undefined;
let connection: Connection | undefined;
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
  await native?.close();
  await connection?.close();
  await server?.stop();
});

describe('the Temporal UI', () => {
  it('finds a lead through the stage filter, and shows it to an operator', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-ui-'));
    server = await startDevServer({
      port: await getFreePort(),
      uiPort: await getFreePort(),
      dbFile: join(dataDir, 'temporal.sqlite'),
      dataDir,
      log: () => {},
    });
    native = await NativeConnection.connect({ address: server.address });
    worker = await createLeadWorker({
      connection: native,
      taskQueue: 'ui',
      activities: activitiesFromEnv({ LEADCYCLE_DATA_DIR: dataDir }).activities,
      workflowBundle: { codePath: inject('workflowBundlePath') },
    });
    running = worker.run();
    connection = await Connection.connect({ address: server.address });
    const leads = new LeadClient(new Client({ connection }), { taskQueue: 'ui' });

    const hot = { tenant: 'ui', email: 'grace@ui.example' };
    await leads.capture(hot, {
      type: 'form.submitted',
      form: 'demo_request',
      consent: true,
      profile: { ...FIT, email: hot.email },
    });
    await leads.send(hot, { type: 'bant.updated', bant: BANT_COMPLETE });
    expect((await leads.send(hot, { type: 'engagement', kind: 'quote_request' })).stage).toBe('mql');
    const cold = { tenant: 'ui', email: 'alan@ui.example' };
    await leads.capture(cold, {
      type: 'form.submitted',
      form: 'newsletter',
      consent: true,
      profile: { ...FIT, email: cold.email },
    });
    const hotId = LeadClient.keyOf(hot).workflowId;
    const coldId = LeadClient.keyOf(cold).workflowId;
    await eventually(async () =>
      expect((await leads.list({ stage: 'mql' })).map((l) => l.workflowId)).toContain(hotId),
    );

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 700 } });
    const query = encodeURIComponent('LeadStage = "mql" AND LeadTemperature = "hot"');
    await page.goto(`${server.uiUrl}/namespaces/default/workflows?query=${query}`);
    await page.getByText(hotId).first().waitFor({ timeout: 30_000 });
    expect(await page.getByText(coldId).count()).toBe(0);

    const path = process.env.LEADCYCLE_UPDATE_SCREENSHOT === '1' ? SCREENSHOT : join(dataDir, 'ui.png');
    await page.screenshot({ path });

    // The lead's own page: its timeline shows what it waits for, by each timer's summary.
    await page.goto(`${server.uiUrl}/namespaces/default/workflows/${hotId}`);
    await page.getByText('sla.expired').first().waitFor({ timeout: 30_000 });
    await page.screenshot({
      path: process.env.LEADCYCLE_UPDATE_SCREENSHOT === '1' ? LEAD_SCREENSHOT : join(dataDir, 'lead.png'),
    });
  }, 180_000);
});
