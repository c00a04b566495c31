/** `leadcycle import`, the real command, against the dev server and a real worker (the CLI uses the codec). */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI } from '../support/cli.js';
import { devServer } from '../support/temporal.js';
import { devServerLeads } from '../support/workflow.js';

const run = promisify(execFile);
const leads = devServerLeads({ encrypted: true });
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

async function cli(...args: string[]) {
  const env = {
    ...process.env,
    TEMPORAL_ADDRESS: devServer().address,
    LEADCYCLE_TASK_QUEUE: leads.h.taskQueue,
    LEADCYCLE_DATA_DIR: leads.h.dataDir,
  };
  try {
    const { stdout, stderr } = await run('node', [...CLI, ...args], { env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('leadcycle import', () => {
  it('imports a Mautic export, then skips it all when run again', async () => {
    const tenant = `impcli-${Date.now()}`;
    const first = await cli(
      '--json',
      'import',
      fixture('mautic-contacts.csv'),
      '--preset',
      'mautic',
      '--tenant',
      tenant,
    );
    expect(first.code).toBe(0);
    // --json: no progress bar on stderr.
    expect(first.stderr).toBe('');
    expect(JSON.parse(first.stdout)).toMatchObject({ total: 3, imported: 2, rejected: 1, skipped: 0 });
    const second = await cli(
      '--json',
      'import',
      fixture('mautic-contacts.csv'),
      '--preset',
      'mautic',
      '--tenant',
      tenant,
    );
    expect(JSON.parse(second.stdout)).toMatchObject({ total: 3, imported: 0, rejected: 0, skipped: 3 });
  });

  it('refuses both --preset and --mapping, naming the option', async () => {
    const both = await cli(
      'import',
      fixture('mautic-contacts.csv'),
      '--preset',
      'mautic',
      '--mapping',
      fixture('optin-mapping.json'),
    );
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--preset: give either --preset or --mapping');
  });
});
