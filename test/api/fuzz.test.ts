import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, inject, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../scripts/fuzz-api.sh', import.meta.url));

/**
 * schemathesis against the API, on a dev server of its own (so its generated leads never meet
 * other tests' leads, whose workers may be gone) and the run's workflow bundle: any 5xx or crash
 * for any generated request fails. The first run installs schemathesis from PyPI (~10 s).
 */
describe('fuzzing the HTTP API with schemathesis', () => {
  it('finds no server error', { timeout: 720_000 }, async () => {
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        'bash',
        [SCRIPT],
        {
          env: {
            ...process.env,
            LEADCYCLE_WORKFLOW_BUNDLE: inject('workflowBundlePath'),
            FUZZ_MAX_EXAMPLES: '12',
            FUZZ_TIMEOUT_SECONDS: '600',
          },
          maxBuffer: 64 * 1024 * 1024,
          timeout: 700_000,
          killSignal: 'SIGTERM',
        },
        (error, stdout, stderr) => {
          const exit = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code: exit, output: `${stdout}\n${stderr}` });
        },
      );
    });
    if (code !== 0) console.error(output.slice(-20_000));
    expect(code, 'scripts/fuzz-api.sh exit code (output above)').toBe(0);
    expect(output).toMatch(/\d+ generated, \d+ passed/);
    expect(output).toContain('no server error found');
    // The fuzzer got past validation into the leads, and past the signatures into the webhooks.
    expect(output).toMatch(/POST \/v1\/leads\/capture\s+200×\d+/);
    expect(output).toMatch(/POST \/v1\/webhooks\/forms\s+200×\d+/);
  });
});
