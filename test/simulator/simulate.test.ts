import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DAY_MS, type LeadcycleConfigInput } from '../../src/machines/index.js';
import {
  EffectRecorder,
  eventsInOrder,
  JourneyError,
  type JourneyInput,
  openSandbox,
  parseJourney,
  playJourney,
  realClock,
  type SimulationResult,
  simulate,
} from '../../src/simulator/index.js';
import { findTemporalBinary } from '../../src/temporal/server.js';
import { createLeadWorker } from '../../src/worker.js';
import { CLI } from '../support/cli.js';
import { createDevServerEnv } from '../support/temporal.js';

/**
 * The simulator: the real lead workflow and activities on a private time-skipping server. Its answer
 * must be what the same journey does on a real server with a fast clock, and it must write nothing
 * outside its sandbox.
 */
const EXAMPLE = fileURLToPath(new URL('../../examples/journey.json', import.meta.url));
const run = promisify(execFile);

const profile = {
  email: 'grace@example.com',
  firstName: 'Grace',
  company: 'Grace & Co',
  companySize: 300,
  sector: 'software',
  jobFunction: 'it',
};
/** 20 days: nurture, an MQL whose SLA runs out (escalation, then back to nurture), more nurture. */
const SHORT: JourneyInput = {
  name: 'an MQL sales never accepts',
  events: [
    { day: 0, command: { type: 'form.submitted', form: 'content_download', consent: true, profile } },
    { day: 3.5, command: { type: 'engagement', kind: 'demo_request' } },
    { day: 4.5, command: { type: 'engagement', kind: 'webinar_attended' } },
    { day: 5.5, fact: { type: 'engagement', kind: 'pricing_page' } },
  ],
};

/** Every duration of the defaults, scaled so that a day lasts `dayMs` (src/demo.ts's fast clock). */
function fastClockConfig(dayMs: number): LeadcycleConfigInput {
  const f = dayMs / DAY_MS;
  return {
    nurtureCadenceDays: 7 * f,
    newsletterCadenceDays: 30 * f,
    emailCap: { max: 3, windowDays: 30 * f },
    salesSlaHours: 48 * f,
    renurtureCooldownDays: 90 * f,
    decayHalfLifeDays: 30 * f,
    decayTickDays: 7 * f,
  };
}

const workflowBundle = () => ({ codePath: inject('workflowBundlePath') });
const shape = (r: SimulationResult) => ({
  stages: r.stages.map(({ from, to, cause, reason }) => ({ from, to, cause, reason })),
  emails: r.emails.map(({ kind, family, item, delivered }) => ({ kind, family, item, delivered })),
  handoffs: r.handoffs.map(({ type, escalation }) => ({ type, escalation })),
  effects: r.effects.map((e) => e.type),
});

describe('the simulator', () => {
  it('a journey file that is wrong is refused naming the field', () => {
    expect(() => parseJourney({ events: [{ day: 1, command: { type: 'nope' } }] })).toThrow(JourneyError);
    try {
      parseJourney({ events: [{ day: 1, command: { type: 'engagement', kind: 'dancing' } }] }, 'j.json');
    } catch (err) {
      expect((err as JourneyError).issues.map((i) => i.path.join('.'))).toEqual(['events.0.command.kind']);
    }
    expect(() => parseJourney({ events: [{ day: 1 }] })).toThrow(/events\.0\.command: give exactly one/);
    expect(() => eventsInOrder(parseJourney(SHORT), 3)).toThrow(/events\.1\.day: after the simulation's end/);
  });

  it('a journey on the time-skipping server equals the same journey on a fast-clock dev server', async () => {
    const days = 20;
    const simulated = await simulate({
      journey: parseJourney(SHORT),
      days,
      workflowBundle: workflowBundle(),
    });
    console.log(`simulate: ${days} days in ${simulated.durationMs} ms`);
    expect(simulated.stages.map((s) => s.to)).toEqual(['visitor', 'lead', 'mql', 'recycled']);
    expect(simulated.handoffs.map((h) => h.escalation)).toEqual([false, true]);
    expect(simulated.emails.length).toBeGreaterThanOrEqual(3);

    // The same journey on the shared dev server, a day lasting 1 s, with a real worker.
    const dayMs = 1000;
    const env = await createDevServerEnv();
    const sandbox = await openSandbox();
    const recorder = new EffectRecorder();
    const taskQueue = `simulator-${process.pid}-${Date.now()}`;
    const worker = await createLeadWorker({
      connection: env.nativeConnection,
      taskQueue,
      activities: recorder.wrap(sandbox.activities),
      workflowBundle: workflowBundle(),
    });
    try {
      const fast = await worker.runUntil(
        playJourney({
          temporal: env.client,
          taskQueue,
          clock: realClock,
          sandbox,
          recorder,
          events: eventsInOrder(parseJourney(SHORT), days),
          days,
          lead: { tenant: `simulator-${Date.now()}`, email: profile.email },
          config: fastClockConfig(dayMs),
          dayMs,
        }),
      );
      expect(shape(fast)).toEqual(shape(simulated));
      // Times scaled: each effect within half a (fast) day of its simulated one (a loaded machine runs real timers late).
      fast.effects.forEach((e, i) => {
        expect(Math.abs(e.day - (simulated.effects[i]?.day ?? Number.NaN))).toBeLessThan(0.5);
      });
    } finally {
      await sandbox.close();
      await env.teardown();
    }
  });
});

describe('leadcycle simulate', () => {
  let dataDir: string;
  let testServer: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'leadcycle-simulate-cli-'));
    testServer = await findTemporalBinary('temporal-test-server');
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('runs a 365-day journey in seconds and writes nothing to the data dir', async () => {
    const svg = join(tmpdir(), `simulate-${process.pid}.svg`);
    const environment = {
      ...process.env,
      LEADCYCLE_DATA_DIR: dataDir,
      LEADCYCLE_TEMPORAL_TEST_SERVER_BIN: testServer,
      // A Temporal that must not be reached: the simulator starts its own server.
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    };
    const started = Date.now();
    const { stdout } = await run('node', [...CLI, '--json', 'simulate', '--journey', EXAMPLE, '--svg', svg], {
      env: environment,
    });
    const wall = Date.now() - started;
    const result = JSON.parse(stdout) as SimulationResult;
    console.log(`leadcycle simulate: 365 days in ${wall} ms (simulation ${result.durationMs} ms)`);
    expect(result.days).toBe(365);
    expect(result.stages.map((s) => s.to)).toEqual([
      'visitor',
      'lead',
      'mql',
      'sql',
      'opportunity',
      'customer',
    ]);
    expect(result.emails.filter((e) => e.kind === 'newsletter').length).toBeGreaterThanOrEqual(6);
    // One handoff at the demo request; the SQL and the opportunity each sat over 14 days without
    // sales activity (staleAfterDays): one reminder to the owner each.
    expect(result.handoffs.map((h) => h.type)).toEqual([
      'sales.handoff',
      'sales.stale_reminder',
      'sales.stale_reminder',
    ]);
    expect(result.final.stage).toBe('customer');
    expect(await readFile(svg, 'utf8')).toMatch(/^<svg[^>]*>/);
    await rm(svg, { force: true });
    // Nothing reached the real store or outbox.
    expect(await readdir(dataDir)).toEqual([]);

    const table = await run('node', [...CLI, 'simulate', '--journey', EXAMPLE], { env: environment });
    expect(table.stdout).toMatch(/^121\s+sales\.handoff\s+to sales/m);
    expect(table.stdout).toMatch(/365 days of simulation:email:ada@example\.com .* in \d+\.\d s/);
  }, 120_000);
});
