/**
 * Where Temporal is and how to reach it, for every entry point: the Temporal SDK's own environment
 * configuration (@temporalio/envconfig), so leadcycle reads the same TOML profiles and TEMPORAL_*
 * variables as the `temporal` CLI and the other SDKs:
 *
 * - a profile from TEMPORAL_CONFIG_FILE (else the default file, ~/.config/temporalio/temporal.toml),
 *   named by TEMPORAL_PROFILE (else "default"),
 * - overridden by TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*,
 *   TEMPORAL_GRPC_META_*.
 *
 * This is the one source of these variables: leadcycle's own schema (src/settings.ts) does not
 * define them again, since a profile can name the address and the two would disagree.
 *
 * What envconfig lets pass silently is an error here (TemporalConnectionError): a
 * TEMPORAL_CONFIG_FILE that is missing, a key it does not know, a TLS file it cannot read, a client
 * certificate without its key, a TEMPORAL_TLS that is not a boolean.
 */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from '@temporalio/client';
import {
  type ClientConfigProfile,
  type ConfigDataSource,
  loadClientConfig,
  loadClientConfigProfile,
  toClientOptions,
} from '@temporalio/envconfig';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { LeadcycleError } from '../errors.js';

/** Where the worker, the API and the CLI find Temporal when neither the env nor a profile names it. */
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

export type TemporalConnectionErrorCode =
  | 'config_file_missing'
  | 'config_file_invalid'
  | 'profile_not_found'
  | 'tls_file_unreadable'
  | 'tls_pair_incomplete'
  | 'invalid_variable';

/** A Temporal connection setting that cannot work; `setting` names the variable or the file's key. */
export class TemporalConnectionError extends LeadcycleError<TemporalConnectionErrorCode> {
  constructor(
    code: TemporalConnectionErrorCode,
    readonly setting: string,
    why: string,
    options?: ErrorOptions,
  ) {
    super(code, `${setting}: ${why}`, options);
  }
}

export interface TemporalConnectionSettings {
  /** host:port; undefined when neither TEMPORAL_ADDRESS nor the profile names one (see connectOrStart). */
  address: string | undefined;
  namespace: string;
  /** TLS as the profile and TEMPORAL_TLS* give it, files already read; on by default with an API key. */
  tls?: NonNullable<ConnectionOptions['tls']>;
  /** Sent as `Authorization: Bearer …` (Temporal Cloud). */
  apiKey?: string;
  /** gRPC metadata sent with every call (grpc_meta, TEMPORAL_GRPC_META_*). */
  metadata?: Record<string, string>;
  /** Where the address came from, for start-up logs: never the API key. */
  source: string;
}

/** The options both `Connection.connect` and `NativeConnection.connect` take. */
type SharedOptions = Pick<
  ConnectionOptions & NativeConnectionOptions,
  'address' | 'tls' | 'apiKey' | 'metadata'
>;

/** Reads the profile and the TEMPORAL_* variables of `env`; throws TemporalConnectionError. */
export function readTemporalConnectionSettings(
  env: NodeJS.ProcessEnv = process.env,
): TemporalConnectionSettings {
  const vars = envconfigVars(env);
  checkBoolean(vars, 'TEMPORAL_TLS');
  if (checkBoolean(vars, 'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION')) {
    throw new TemporalConnectionError(
      'invalid_variable',
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
      'not supported by the TypeScript SDK; set TEMPORAL_TLS_SERVER_NAME to the name the certificate carries',
    );
  }

  const file = vars.TEMPORAL_CONFIG_FILE
    ? {
        name: `TEMPORAL_CONFIG_FILE=${vars.TEMPORAL_CONFIG_FILE}`,
        source: readConfigFile(vars.TEMPORAL_CONFIG_FILE),
      }
    : { name: 'the default config file (~/.config/temporalio/temporal.toml)', source: undefined };
  const profiles = profilesIn(file, vars);
  const profileName = vars.TEMPORAL_PROFILE ?? 'default';
  if (vars.TEMPORAL_PROFILE && !profiles[profileName]) {
    const known = Object.keys(profiles);
    throw new TemporalConnectionError(
      'profile_not_found',
      'TEMPORAL_PROFILE',
      `no profile "${profileName}" in ${file.name}` +
        (known.length ? ` (it has ${known.map((p) => `"${p}"`).join(', ')})` : ' (it has none)'),
    );
  }
  const inFile = profiles[profileName] !== undefined;
  const profile = loadClientConfigProfile({
    overrideEnvVars: vars,
    configFileStrict: true,
    ...(inFile
      ? { profile: profileName, ...(file.source ? { configSource: file.source } : {}) }
      : { disableFile: true }),
  });
  const where = (key: string, variable: string) =>
    vars[variable] !== undefined ? variable : `${key} of profile "${profileName}" in ${file.name}`;

  const connect = toClientOptions(withTlsFilesRead(profile, where)).connectionOptions;
  return {
    address: profile.address,
    namespace: profile.namespace ?? 'default',
    ...(connect.tls !== undefined && connect.tls !== null ? { tls: connect.tls } : {}),
    ...(profile.apiKey ? { apiKey: profile.apiKey } : {}),
    ...(profile.grpcMeta && Object.keys(profile.grpcMeta).length ? { metadata: profile.grpcMeta } : {}),
    source:
      profile.address === undefined
        ? 'no address set'
        : vars.TEMPORAL_ADDRESS !== undefined
          ? 'TEMPORAL_ADDRESS'
          : `profile "${profileName}" in ${file.name}`,
  };
}

/** The client's `Connection.connect` options; the default address when none is set. */
export function clientConnectionOptions(
  settings: TemporalConnectionSettings,
): ConnectionOptions & { address: string } {
  return sharedOptions(settings);
}

/** The worker's `NativeConnection.connect` options; the default address when none is set. */
export function nativeConnectionOptions(
  settings: TemporalConnectionSettings,
): NativeConnectionOptions & { address: string } {
  return sharedOptions(settings);
}

function sharedOptions(settings: TemporalConnectionSettings): SharedOptions & { address: string } {
  return {
    address: settings.address ?? DEFAULT_TEMPORAL_ADDRESS,
    ...(settings.tls !== undefined ? { tls: settings.tls } : {}),
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    ...(settings.metadata ? { metadata: settings.metadata } : {}),
  };
}

/**
 * The env as envconfig reads it, blank meaning unset as in leadcycle's own schema (a blank
 * TEMPORAL_ADDRESS would otherwise override the profile's). A blank TEMPORAL_GRPC_META_X keeps its
 * meaning: remove header X.
 */
function envconfigVars(env: NodeJS.ProcessEnv): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (value.trim() !== '' || key.startsWith('TEMPORAL_GRPC_META_')) vars[key] = value;
  }
  return vars;
}

/** envconfig reads anything but "1" and "true" as false: "yes" would turn TLS off. */
function checkBoolean(vars: Record<string, string>, name: string): boolean | undefined {
  const value = vars[name]?.trim().toLowerCase();
  if (value === undefined) return undefined;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new TemporalConnectionError('invalid_variable', name, `"${vars[name]}" is not true, false, 1 or 0`);
}

/** envconfig ignores a missing file even when named: here a file named and missing is an error. */
function readConfigFile(path: string): ConfigDataSource {
  try {
    return { data: readFileSync(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new TemporalConnectionError(
      code === 'ENOENT' ? 'config_file_missing' : 'config_file_invalid',
      'TEMPORAL_CONFIG_FILE',
      code === 'ENOENT' ? `no file at ${path}` : `cannot read ${path}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function profilesIn(
  file: { name: string; source: ConfigDataSource | undefined },
  vars: Record<string, string>,
): Record<string, ClientConfigProfile> {
  try {
    return loadClientConfig({
      overrideEnvVars: vars,
      // A misspelt key (`api-key`, `adress`) would otherwise connect without it.
      configFileStrict: true,
      ...(file.source ? { configSource: file.source } : {}),
    }).profiles;
  } catch (err) {
    // A file without a [profile.*] table (empty, only comments) makes envconfig throw a TypeError.
    if (err instanceof TypeError) return {};
    throw new TemporalConnectionError('config_file_invalid', file.name, (err as Error).message, {
      cause: err,
    });
  }
}

/** The profile with its TLS files read, each failure naming the variable or key that gave the path. */
function withTlsFilesRead(
  profile: ClientConfigProfile,
  where: (key: string, variable: string) => string,
): ClientConfigProfile {
  const tls = profile.tls;
  if (!tls || tls.disabled) return profile;
  const read = (source: ConfigDataSource | undefined, key: string, variable: string) => {
    if (!source || !('path' in source)) return source;
    try {
      return { data: readFileSync(source.path) };
    } catch (err) {
      throw new TemporalConnectionError(
        'tls_file_unreadable',
        where(key, variable),
        `cannot read ${source.path}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  };
  const clientCert = read(tls.clientCert, 'tls.client_cert_path', 'TEMPORAL_TLS_CLIENT_CERT_PATH');
  const clientKey = read(tls.clientKey, 'tls.client_key_path', 'TEMPORAL_TLS_CLIENT_KEY_PATH');
  const serverCACert = read(tls.serverCACert, 'tls.server_ca_cert_path', 'TEMPORAL_TLS_SERVER_CA_CERT_PATH');
  // envconfig drops a certificate without its key (or a key without its certificate) silently.
  if ((clientCert === undefined) !== (clientKey === undefined)) {
    throw new TemporalConnectionError(
      'tls_pair_incomplete',
      clientCert
        ? where('tls.client_key_path', 'TEMPORAL_TLS_CLIENT_KEY_PATH')
        : where('tls.client_cert_path', 'TEMPORAL_TLS_CLIENT_CERT_PATH'),
      `not set: a client certificate needs its key and a key its certificate (mTLS)`,
    );
  }
  return {
    ...profile,
    tls: {
      ...tls,
      ...(clientCert ? { clientCert } : {}),
      ...(clientKey ? { clientKey } : {}),
      ...(serverCACert ? { serverCACert } : {}),
    },
  };
}
