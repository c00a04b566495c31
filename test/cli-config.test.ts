import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliResult, cliEnvOf, runCli } from './support/cli.js';
import { devServer } from './support/temporal.js';
import { devServerLeads, eventually } from './support/workflow.js';

/** `leadcycle config …` against the real dev server and a real worker. */
const t = devServerLeads({ encrypted: true }); // the CLI always uses the codec

async function cli(...args: string[]): Promise<CliResult> {
  return runCli(args, cliEnvOf(t.h, devServer().address));
}

describe('leadcycle config', () => {
  it('applies a config to the running leads, counts them per version, and rolls back', async () => {
    const tenant = `cli-config-${Date.now()}`;
    expect((await cli('capture', 'ada@config.example', '--tenant', tenant, '--consent')).code).toBe(0);
    const file = join(t.h.dataDir, 'lower.json');
    await writeFile(file, JSON.stringify({ mqlThreshold: 30 }));

    // Nothing to roll back before two versions exist.
    const early = await cli('--json', 'config', 'rollback');
    expect(early.code).toBe(2);
    expect(JSON.parse(early.stderr).error.code).toBe('no_previous_version');
    // A bad file is refused, naming the field, before anything is stored.
    await writeFile(join(t.h.dataDir, 'bad.json'), JSON.stringify({ mqlThreshold: 'high' }));
    expect((await cli('config', 'apply', join(t.h.dataDir, 'bad.json'))).stderr).toMatch(/mqlThreshold/);

    const applied = await cli('--json', 'config', 'apply', file, '--note', 'lower the bar');
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({
      version: { id: 1, note: 'lower the bar', config: { mqlThreshold: 30 } },
      rollout: { version: 1, applied: 1, failed: [] },
    });
    const shown = JSON.parse((await cli('--json', 'show', 'ada@config.example', '--tenant', tenant)).stdout);
    expect(shown.configVersion).toBe(1);
    await eventually(async () => {
      const status = JSON.parse((await cli('--json', 'config', 'status')).stdout);
      expect(status).toMatchObject({ current: { id: 1 }, leadsPerVersion: { 1: 1 }, running: 1 });
    });

    await writeFile(file, JSON.stringify({ mqlThreshold: 20 }));
    expect((await cli('config', 'apply', file)).stdout).toMatch(
      /rolled out to 1 running lead\(s\); 0 failed/,
    );
    const back = JSON.parse((await cli('--json', 'config', 'rollback')).stdout);
    expect(back).toMatchObject({
      version: { id: 3, note: 'rollback to version 1', config: { mqlThreshold: 30 } },
    });
  }, 120_000);
});
