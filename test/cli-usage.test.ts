import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { type CliResult, runCli } from './support/cli.js';

/** The real `leadcycle` command's answers that need no server: its version and its usage errors. */
async function cli(...args: string[]): Promise<CliResult> {
  return runCli(args, {});
}

describe('the leadcycle command', () => {
  it('prints the package version', async () => {
    const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
    for (const flag of ['--version', '-V']) {
      const r = await cli(flag);
      expect(r).toMatchObject({ code: 0, stdout: `${version}\n` });
    }
  });

  it('answers a usage error as JSON under --json, wherever --json stands, and as text without it', async () => {
    for (const args of [
      ['--json', 'show'],
      ['show', '--json'],
    ]) {
      const r = await cli(...args);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stderr)).toEqual({
        error: {
          code: 'invalid_usage',
          message: "missing required argument 'lead'",
          kind: 'missingArgument',
        },
      });
    }
    const unknown = await cli('--json', 'list', '--colour', 'red');
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stderr).error).toMatchObject({ code: 'invalid_usage', kind: 'unknownOption' });
    const text = await cli('show');
    expect(text.code).toBe(2);
    expect(text.stderr).toBe("error: missing required argument 'lead'\n");
  });
});
