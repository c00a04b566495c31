import { Client, Connection } from '@temporalio/client';
import { loadDataConverter } from '../codec/keys.js';
import {
  clientConnectionOptions,
  readTemporalConnectionSettings,
  type TemporalConnectionSettings,
} from '../temporal/connection.js';

/**
 * A Temporal client as every leadcycle entry point makes it: the Temporal connection settings
 * (profile, TEMPORAL_ADDRESS, TLS, API key: src/temporal/connection.ts), and the payload codec, so
 * personal data reaches Temporal encrypted.
 */
export async function connectTemporal(env: NodeJS.ProcessEnv = process.env): Promise<{
  client: Client;
  address: string;
  settings: TemporalConnectionSettings;
  close(): Promise<void>;
}> {
  const settings = readTemporalConnectionSettings(env);
  const options = clientConnectionOptions(settings);
  const { address } = options;
  const connection = await Connection.connect({ ...options, connectTimeout: '5s' }).catch((err: Error) => {
    throw new Error(`cannot reach Temporal at ${address}: ${err.message}`, { cause: err });
  });
  const { dataConverter } = await loadDataConverter(env);
  const client = new Client({ connection, namespace: settings.namespace, dataConverter });
  return { client, address, settings, close: () => connection.close() };
}
