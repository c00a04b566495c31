/**
 * The Temporal connection settings (src/temporal/connection.ts): a TOML profile reaches the run's dev
 * server for the client and the worker's connection alike; TLS and the API key end up in the
 * connection options; each bad setting is a typed error naming the variable or the file's key.
 * Every env here is explicit: without HOME, no default config file of the machine is read.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectTemporal } from '../src/client/index.js';
import {
  clientConnectionOptions,
  nativeConnectionOptions,
  readTemporalConnectionSettings,
  TemporalConnectionError,
} from '../src/temporal/connection.js';
import { devServer } from './support/temporal.js';

let dir: string;
let configFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'leadcycle-connection-'));
  configFile = join(dir, 'temporal.toml');
  const { address, namespace } = devServer();
  // The default profile points nowhere: connecting through it instead of "run" would fail.
  await writeFile(
    configFile,
    `[profile.default]\naddress = "127.0.0.1:1"\nnamespace = "nowhere"\n\n` +
      `[profile.run]\naddress = "${address}"\nnamespace = "${namespace}"\n`,
  );
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const errorOf = (env: NodeJS.ProcessEnv): TemporalConnectionError => {
  try {
    readTemporalConnectionSettings(env);
  } catch (err) {
    if (err instanceof TemporalConnectionError) return err;
    throw err;
  }
  throw new Error('no error');
};

describe('a profile of TEMPORAL_CONFIG_FILE', () => {
  it('takes the client and the worker to its address and namespace', async () => {
    const env = {
      TEMPORAL_CONFIG_FILE: configFile,
      TEMPORAL_PROFILE: 'run',
      LEADCYCLE_CODEC_KEYS: `k:${randomBytes(32).toString('base64')}`,
    };
    const { namespace } = devServer();

    const temporal = await connectTemporal(env);
    try {
      expect(temporal.settings).toMatchObject({ address: devServer().address, namespace });
      const described = await temporal.client.workflowService.describeNamespace({ namespace });
      expect(described.namespaceInfo?.name).toBe(namespace);
    } finally {
      await temporal.close();
    }

    const native = await NativeConnection.connect(
      nativeConnectionOptions(readTemporalConnectionSettings(env)),
    );
    try {
      const described = await native.workflowService.describeNamespace({ namespace });
      expect(described.namespaceInfo?.name).toBe(namespace);
    } finally {
      await native.close();
    }
  });

  it('gives way to TEMPORAL_ADDRESS and TEMPORAL_NAMESPACE; blank ones are unset', () => {
    const base = { TEMPORAL_CONFIG_FILE: configFile };
    expect(readTemporalConnectionSettings(base)).toMatchObject({
      address: '127.0.0.1:1',
      namespace: 'nowhere',
    });
    expect(
      readTemporalConnectionSettings({ ...base, TEMPORAL_ADDRESS: 'h:7233', TEMPORAL_NAMESPACE: 'ns' }),
    ).toMatchObject({ address: 'h:7233', namespace: 'ns', source: 'TEMPORAL_ADDRESS' });
    expect(readTemporalConnectionSettings({ ...base, TEMPORAL_ADDRESS: ' ' }).address).toBe('127.0.0.1:1');
    // Nothing set: no address (npm start then starts a dev server), the options use the default.
    const none = readTemporalConnectionSettings({});
    expect(none).toMatchObject({ address: undefined, namespace: 'default' });
    expect(clientConnectionOptions(none)).toEqual({ address: '127.0.0.1:7233' });
  });
});

describe('TLS and the API key', () => {
  it('reach the connection options, files read, from the env and from a profile', async () => {
    const files = { crt: join(dir, 'client.pem'), key: join(dir, 'client.key'), ca: join(dir, 'ca.pem') };
    await writeFile(files.crt, 'CERT');
    await writeFile(files.key, 'KEY');
    await writeFile(files.ca, 'CA');
    const expected = {
      address: 'ns.acct.tmprl.cloud:7233',
      tls: {
        serverNameOverride: 'ns.acct.tmprl.cloud',
        serverRootCACertificate: Buffer.from('CA'),
        clientCertPair: { crt: Buffer.from('CERT'), key: Buffer.from('KEY') },
      },
      apiKey: 'secret-key',
      metadata: { 'x-tenant': 'acme' },
    };

    const fromEnv = readTemporalConnectionSettings({
      TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233',
      TEMPORAL_API_KEY: 'secret-key',
      TEMPORAL_TLS_SERVER_NAME: 'ns.acct.tmprl.cloud',
      TEMPORAL_TLS_CLIENT_CERT_PATH: files.crt,
      TEMPORAL_TLS_CLIENT_KEY_PATH: files.key,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: files.ca,
      TEMPORAL_GRPC_META_X_TENANT: 'acme',
    });
    expect(clientConnectionOptions(fromEnv)).toEqual(expected);
    expect(nativeConnectionOptions(fromEnv)).toEqual(expected);

    const file = join(dir, 'cloud.toml');
    await writeFile(
      file,
      `[profile.cloud]\naddress = "ns.acct.tmprl.cloud:7233"\napi_key = "secret-key"\n` +
        `[profile.cloud.tls]\nserver_name = "ns.acct.tmprl.cloud"\nclient_cert_path = "${files.crt}"\n` +
        `client_key_path = "${files.key}"\nserver_ca_cert_path = "${files.ca}"\n` +
        `[profile.cloud.grpc_meta]\nx-tenant = "acme"\n`,
    );
    const fromProfile = readTemporalConnectionSettings({
      TEMPORAL_CONFIG_FILE: file,
      TEMPORAL_PROFILE: 'cloud',
    });
    expect(nativeConnectionOptions(fromProfile)).toEqual(expected);
    // The API key alone turns TLS on (Temporal Cloud); TEMPORAL_TLS=false turns it off again.
    expect(clientConnectionOptions(readTemporalConnectionSettings({ TEMPORAL_API_KEY: 'k' }))).toMatchObject({
      apiKey: 'k',
      tls: true,
    });
    expect(
      clientConnectionOptions(
        readTemporalConnectionSettings({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }),
      ).tls,
    ).toBe(false);
  });
});

describe('a bad setting is a typed error naming it', () => {
  it('an unknown profile, a missing file, a misspelt key, a TEMPORAL_TLS that is not a boolean', async () => {
    expect(errorOf({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'prod' })).toMatchObject({
      code: 'profile_not_found',
      setting: 'TEMPORAL_PROFILE',
      message: expect.stringContaining('no profile "prod" in TEMPORAL_CONFIG_FILE=') as string,
    });
    expect(errorOf({ TEMPORAL_CONFIG_FILE: configFile, TEMPORAL_PROFILE: 'prod' }).message).toContain(
      '(it has "default", "run")',
    );
    expect(errorOf({ TEMPORAL_CONFIG_FILE: join(dir, 'missing.toml') })).toMatchObject({
      code: 'config_file_missing',
      setting: 'TEMPORAL_CONFIG_FILE',
    });
    const misspelt = join(dir, 'misspelt.toml');
    await writeFile(misspelt, '[profile.default]\nadress = "h:7233"\n');
    expect(errorOf({ TEMPORAL_CONFIG_FILE: misspelt })).toMatchObject({
      code: 'config_file_invalid',
      message: expect.stringContaining('adress') as string,
    });
    expect(errorOf({ TEMPORAL_TLS: 'yes' })).toMatchObject({
      code: 'invalid_variable',
      setting: 'TEMPORAL_TLS',
    });
  });

  it('a missing certificate file, from the env or a profile, and a certificate without its key', async () => {
    const missing = join(dir, 'missing.pem');
    expect(
      errorOf({ TEMPORAL_TLS_CLIENT_CERT_PATH: missing, TEMPORAL_TLS_CLIENT_KEY_PATH: missing }),
    ).toMatchObject({
      code: 'tls_file_unreadable',
      setting: 'TEMPORAL_TLS_CLIENT_CERT_PATH',
      message: expect.stringContaining(missing) as string,
    });
    const file = join(dir, 'bad-tls.toml');
    await writeFile(file, `[profile.default.tls]\nserver_ca_cert_path = "${missing}"\n`);
    expect(errorOf({ TEMPORAL_CONFIG_FILE: file })).toMatchObject({
      code: 'tls_file_unreadable',
      setting: expect.stringContaining('tls.server_ca_cert_path of profile "default"') as string,
    });
    const crt = join(dir, 'only.pem');
    await writeFile(crt, 'CERT');
    expect(errorOf({ TEMPORAL_TLS_CLIENT_CERT_PATH: crt })).toMatchObject({
      code: 'tls_pair_incomplete',
      setting: expect.stringContaining('tls.client_key_path') as string,
    });
  });
});
