/** `leadcycle import`, the real command, against the dev server and a real worker (the CLI uses the codec). */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type CliResult, cliEnvOf, runCli } from '../support/cli.js';
import { devServer } from '../support/temporal.js';
import { devServerLeads } from '../support/workflow.js';

const leads = devServerLeads({ encrypted: true });
const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

async function cli(...args: string[]): Promise<CliResult> {
  return runCli(args, cliEnvOf(leads.h, devServer().address));
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
