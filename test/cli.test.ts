import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, cliEnvOf, runCli } from './support/cli.js';
import { createDevServerEnv, devServer } from './support/temporal.js';
import { eventually, type LeadHarness, leadHarness } from './support/workflow.js';

/** The real `leadcycle` command, against the real dev server and a real worker. */
let env: TestWorkflowEnvironment;
let h: LeadHarness;
const tenant = `cli-${Date.now()}`;

beforeAll(async () => {
  env = await createDevServerEnv();
  h = await leadHarness(env, { encrypted: true }); // the CLI always uses the codec
});
afterAll(async () => {
  await h?.close();
  await env?.teardown();
});

async function cli(...args: string[]): Promise<CliResult> {
  return runCli(args, cliEnvOf(h, devServer().address));
}

describe('the leadcycle CLI', () => {
  it('captures, drives and shows a lead, as a table and as JSON', async () => {
    const profile = JSON.stringify({ companySize: 200, sector: 'software', jobFunction: 'it' });
    const captured = await cli(
      'capture',
      'ada@cli.example',
      '--tenant',
      tenant,
      '--form',
      'content_download',
      '--consent',
      '--profile',
      profile,
    );
    expect(captured.code).toBe(0);
    expect(captured.stdout).toMatch(/^stage\s+lead$/m);
    expect(captured.stdout).toMatch(/^fit\s+100% \(it-decision-maker\)$/m);

    const tracked = await cli('track', 'ada@cli.example', 'webinar_attended', '--tenant', tenant);
    expect(tracked.code).toBe(0);

    const shown = await eventually(async () => {
      const r = await cli('--json', 'show', 'ada@cli.example', '--tenant', tenant);
      const view = JSON.parse(r.stdout);
      expect(view.score).toBe(20);
      return view;
    });
    expect(shown.stage).toBe('lead');
    // Where an operator finds it: the workflow id, its current run, and that run's page in the UI.
    expect(shown.workflowId).toMatch(/^lead-[0-9a-f]{32}$/);
    const { runId } = await h.client.temporal.workflow.getHandle(shown.workflowId).describe();
    expect(shown.runId).toBe(runId);
    expect(shown.uiUrl).toBe(
      `http://localhost:8233/namespaces/default/workflows/${shown.workflowId}/${runId}/history`,
    );
    const human = await cli('show', 'ada@cli.example', '--tenant', tenant);
    expect(human.stdout).toContain(`workflow id   ${shown.workflowId}\nTemporal UI   ${shown.uiUrl}`);

    const sent = await cli(
      'send',
      'ada@cli.example',
      '{"type":"engagement","kind":"demo_request"}',
      '--tenant',
      tenant,
    );
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^stage\s+mql$/m);
    expect(sent.stdout).toMatch(/sla\.expired/);
    expect(sent.stdout).toMatch(/^reason\s+hand_raiser:demo_request$/m);
  });

  it('shows where a lead came from: its first touch and its last', async () => {
    const email = 'tou@cli.example';
    const form = {
      type: 'form.submitted',
      form: 'webinar',
      consent: true,
      profile: { email },
      touch: { source: 'google', campaign: 'spring-launch', utm_medium: 'cpc' },
    };
    expect((await cli('send', email, JSON.stringify(form), '--tenant', tenant, '--start')).code).toBe(0);
    const visit = { type: 'visit', channel: 'social', touch: { source: 'linkedin' } };
    expect((await cli('send', email, JSON.stringify(visit), '--tenant', tenant)).code).toBe(0);
    const shown = await cli('show', email, '--tenant', tenant);
    expect(shown.stdout).toMatch(
      /^first touch\s+source google, campaign spring-launch, form webinar, utm_medium cpc$/m,
    );
    expect(shown.stdout).toMatch(/^last touch\s+source linkedin, channel social$/m);
    const asJson = JSON.parse((await cli('--json', 'show', email, '--tenant', tenant)).stdout);
    expect(asJson.touches).toEqual({
      first: { form: 'webinar', source: 'google', campaign: 'spring-launch', utm_medium: 'cpc' },
      last: { channel: 'social', source: 'linkedin' },
    });
    // A lead without a touch says so.
    expect((await cli('show', 'ada@cli.example', '--tenant', tenant)).stdout).toMatch(/^first touch\s+-$/m);
  });

  it('show --timeline lists what happened to the lead, in order, as text and as JSON', async () => {
    await cli('capture', 'tim@cli.example', '--tenant', tenant, '--form', 'demo_request', '--consent');
    await cli('send', 'tim@cli.example', '{"type":"disqualify","reason":"student"}', '--tenant', tenant);
    const shown = await eventually(async () => {
      const r = await cli('show', 'tim@cli.example', '--tenant', tenant, '--timeline');
      expect(r.stdout).toMatch(/stage\s+lead -> disqualified\s+\(disqualify: student\)/);
      return r;
    });
    expect(shown.stdout).toMatch(/^reason\s+student$/m);
    const lines = shown.stdout.split('\n').filter((l) => /^ {2}\d{4}-/.test(l));
    expect(lines.map((l) => l.trim().split(/\s+/)[1])).toEqual([
      'stage',
      'consent',
      'stage',
      'email',
      'stage',
    ]);
    const asJson = JSON.parse(
      (await cli('--json', 'show', 'tim@cli.example', '--tenant', tenant, '--timeline')).stdout,
    );
    expect(asJson.reason).toBe('student');
    expect(asJson.timeline.entries.map((e: { kind: string }) => e.kind)).toEqual([
      'stage',
      'consent',
      'stage',
      'email',
      'stage',
    ]);
  });

  it('exits 3 with the machine reason when the lead refuses a command', async () => {
    await cli('capture', 'bo@cli.example', '--tenant', tenant);
    const refused = await cli('send', 'bo@cli.example', '{"type":"deal.won"}', '--tenant', tenant);
    expect(refused.code).toBe(3);
    expect(refused.stderr).toContain('error: deal.won is not allowed in stage lead');
    const asJson = await cli('--json', 'send', 'bo@cli.example', '{"type":"deal.won"}', '--tenant', tenant);
    expect(JSON.parse(asJson.stderr).error.rejection).toMatchObject({
      code: 'not_allowed_in_stage',
      stage: 'lead',
    });
  });

  it('exits 2 naming the field on bad input, and 4 for an unknown lead', async () => {
    const bad = await cli(
      'send',
      'bo@cli.example',
      '{"type":"engagement","kind":"telepathy"}',
      '--tenant',
      tenant,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/kind: Invalid option/);
    const notJson = await cli('send', 'bo@cli.example', '{type', '--tenant', tenant);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/<command> is not JSON/);
    const unknown = await cli('show', 'nobody@cli.example', '--tenant', tenant);
    expect(unknown.code).toBe(4);
  });

  it('lists leads by stage and shows the outbox', async () => {
    await eventually(async () => {
      const listed = await cli('--json', 'list', '--stage', 'mql');
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout).leads.length).toBeGreaterThanOrEqual(1);
    });
    const outbox = await eventually(async () => {
      const r = await cli('outbox', '--kind', 'crm');
      expect(r.stdout).toContain('handoff');
      return r;
    });
    expect(outbox.stdout.split('\n')[0]).toMatch(/^at\s+kind\s+lead\s+what$/);
  });

  it('documents every command in its help', async () => {
    const help = await cli('--help');
    for (const command of [
      'start',
      'dev-server',
      'worker',
      'capture',
      'send',
      'track',
      'show',
      'list',
      'outbox',
    ]) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
      const sub = await cli(command, '--help');
      expect(sub.code).toBe(0);
      expect(sub.stdout).toMatch(/^Usage: leadcycle /);
    }
  });
});
