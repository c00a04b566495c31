import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { resolveDataDir } from '../paths.js';
import { ensurePrivateDir } from '../private-fs.js';
import { readSettings } from '../settings.js';
import { AesGcmCodec, CodecError, type CodecKey } from './aes-gcm.js';

/**
 * Where the codec's keys come from: `LEADCYCLE_CODEC_KEYS` ("id:base64,id:base64", the first one
 * encrypts), else `<data dir>/codec-keys.json`, which the local stack creates on first use with a
 * fresh random key (mode 0600). To rotate: put a new key first and keep the old ones after it.
 */
export const CODEC_KEYS_FILE = 'codec-keys.json';

export function parseCodecKeys(spec: string): CodecKey[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [id, base64] = entry.split(':');
      if (!id || !base64)
        throw new CodecError('invalid_key', `LEADCYCLE_CODEC_KEYS: "${id ?? entry}" is not id:base64key`);
      const key = new Uint8Array(Buffer.from(base64, 'base64'));
      if (key.length !== 32)
        throw new CodecError('invalid_key', `LEADCYCLE_CODEC_KEYS: key ${id} is ${key.length} bytes, not 32`);
      return { id, key };
    });
}

export async function loadCodecKeys(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ keys: CodecKey[]; source: string }> {
  const configured = readSettings(env).LEADCYCLE_CODEC_KEYS;
  if (configured) return { keys: parseCodecKeys(configured), source: 'LEADCYCLE_CODEC_KEYS' };
  const dataDir = resolveDataDir(env);
  const file = join(dataDir, CODEC_KEYS_FILE);
  const stored = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return null;
    throw err;
  });
  if (stored !== null) {
    const { keys } = JSON.parse(stored) as { keys: Array<{ id: string; key: string }> };
    return { keys: parseCodecKeys(keys.map((k) => `${k.id}:${k.key}`).join(',')), source: file };
  }
  const generated = {
    id: `local-${new Date().toISOString().slice(0, 10)}`,
    key: randomBytes(32).toString('base64'),
  };
  await ensurePrivateDir(dataDir);
  // `wx`: two processes starting at once must not overwrite each other's key.
  await writeFile(file, `${JSON.stringify({ keys: [generated] }, null, 2)}\n`, {
    mode: 0o600,
    flag: 'wx',
  }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  return loadCodecKeys(env);
}

/**
 * The failure converter's module (src/codec/failure-converter.cjs): failure messages and stack traces
 * are encoded, so they go through the codec too. A prebuilt workflow bundle must be built with it
 * (bundleWorkflowCode's failureConverterPath).
 */
export const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('./failure-converter.cjs', import.meta.url));

/**
 * The data converter every client and worker of leadcycle uses: payloads, and failures' messages and
 * stack traces, encrypted at rest in Temporal.
 */
export async function loadDataConverter(env: NodeJS.ProcessEnv = process.env): Promise<{
  dataConverter: DataConverter;
  codec: AesGcmCodec;
  source: string;
}> {
  const { keys, source } = await loadCodecKeys(env);
  const codec = new AesGcmCodec(keys);
  return {
    dataConverter: { payloadCodecs: [codec], failureConverterPath: FAILURE_CONVERTER_PATH },
    codec,
    source,
  };
}
