/**
 * The config store: every config ever rolled out, one file per version in `<dataDir>/config-versions/`
 * (0700, files 0600, src/private-fs.ts). The API, the CLI and `npm start` read it: new leads start
 * with the newest version, and `leadcycle config apply` sends it to the running ones. Versions are
 * never changed or removed; a rollback is the previous config again as a new version.
 */
import { constants } from 'node:fs';
import { link, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { loadConfigFile } from './config-file.js';
import { describeIssues, type FieldIssue, issuesOf, LeadcycleError } from './errors.js';
import { type LeadcycleConfig, type LeadcycleConfigInput, LeadcycleConfigSchema } from './machines/index.js';
import { dataDirOf } from './paths.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from './private-fs.js';
import { readSettings } from './settings.js';

export const CONFIG_VERSIONS_DIR = 'config-versions';

export interface ConfigVersion {
  /** 1, 2, 3…: monotonic, never reused. */
  id: number;
  /** The validated config, defaults filled in: what a lead runs, whatever the code's defaults become. */
  config: LeadcycleConfig;
  createdAt: string;
  note: string | null;
}

export type ConfigVersionErrorCode = 'invalid_config' | 'no_previous_version' | 'corrupt_config_version';

export class ConfigVersionError extends LeadcycleError<ConfigVersionErrorCode> {
  constructor(
    code: ConfigVersionErrorCode,
    message: string,
    readonly issues: FieldIssue[] = [],
  ) {
    super(code, message);
  }
}

const FILE = /^(\d{6,})\.json$/;
const fileOf = (id: number) => `${String(id).padStart(6, '0')}.json`;

export class ConfigVersions {
  readonly dir: string;
  #cache: { mtimeMs: number; current: ConfigVersion | null } | null = null;

  constructor(dataDir: string) {
    this.dir = join(dataDir, CONFIG_VERSIONS_DIR);
  }

  /** The store of the data dir of these settings (LEADCYCLE_DATA_DIR). */
  static fromSettings(env: NodeJS.ProcessEnv = process.env): ConfigVersions {
    return new ConfigVersions(dataDirOf(readSettings(env)));
  }

  /** The version ids, oldest first. */
  async ids(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names
      .map((n) => FILE.exec(n)?.[1])
      .filter((id): id is string => id !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  async get(id: number): Promise<ConfigVersion> {
    const file = join(this.dir, fileOf(id));
    const raw = JSON.parse(await readFile(file, 'utf8')) as ConfigVersion;
    const config = LeadcycleConfigSchema.safeParse(raw.config);
    if (!config.success || raw.id !== id) {
      throw new ConfigVersionError('corrupt_config_version', `${file} is not a valid config version`);
    }
    return { id, config: config.data, createdAt: raw.createdAt, note: raw.note ?? null };
  }

  async list(): Promise<ConfigVersion[]> {
    return Promise.all((await this.ids()).map((id) => this.get(id)));
  }

  /**
   * The newest version, or null before the first. Cached until the folder changes (a new version
   * adds a file): a capture costs one stat.
   */
  async current(): Promise<ConfigVersion | null> {
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(this.dir)).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    if (this.#cache?.mtimeMs === mtimeMs) return this.#cache.current;
    const last = (await this.ids()).at(-1);
    const current = last === undefined ? null : await this.get(last);
    this.#cache = { mtimeMs, current };
    return current;
  }

  /**
   * Stores a config as the next version. Checked as a whole config first (errors name the field).
   * Written whole under a temporary name, then linked to its id's name, which fails if another
   * writer (the API, another CLI) took that id: then the next id is tried.
   */
  async add(input: LeadcycleConfigInput | unknown, note?: string): Promise<ConfigVersion> {
    const parsed = LeadcycleConfigSchema.safeParse(input);
    if (!parsed.success) {
      const issues = issuesOf(parsed.error);
      throw new ConfigVersionError('invalid_config', `invalid config: ${describeIssues(issues)}`, issues);
    }
    await ensurePrivateDir(this.dir);
    for (;;) {
      const id = ((await this.ids()).at(-1) ?? 0) + 1;
      const version: ConfigVersion = {
        id,
        config: parsed.data,
        createdAt: new Date().toISOString(),
        note: note ?? null,
      };
      const temp = join(this.dir, `.${id}.${process.pid}.${Date.now()}.tmp`);
      const handle = await open(
        temp,
        constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY,
        PRIVATE_FILE_MODE,
      );
      try {
        await handle.writeFile(`${JSON.stringify(version, null, 2)}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      try {
        await link(temp, join(this.dir, fileOf(id)));
        return version;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        await unlink(temp);
      }
    }
  }

  /** The version before the newest, stored again as a new version. */
  async rollback(note?: string): Promise<ConfigVersion> {
    const ids = await this.ids();
    const previous = ids.at(-2);
    if (previous === undefined) {
      throw new ConfigVersionError(
        'no_previous_version',
        ids.length === 0
          ? 'no config version stored yet'
          : `only version ${ids[0]} is stored: nothing to roll back to`,
      );
    }
    return this.add((await this.get(previous)).config, note ?? `rollback to version ${previous}`);
  }
}

/** What new leads start with: the store's newest version, else LEADCYCLE_CONFIG (else the defaults). */
export async function liveConfig(
  store: ConfigVersions,
  configFile = readSettings().LEADCYCLE_CONFIG,
): Promise<{ version: number | null; config: LeadcycleConfig }> {
  const current = await store.current();
  if (current) return { version: current.id, config: current.config };
  return { version: null, config: await loadConfigFile(configFile) };
}
