import { Client, Connection } from '@temporalio/client';
import { loadDataConverter } from '../codec/keys.js';
import { DEFAULT_TEMPORAL_ADDRESS, readSettings } from '../settings.js';

/**
 * A Temporal client as every leadcycle entry point makes it: TEMPORAL_ADDRESS and
 * TEMPORAL_NAMESPACE, and the payload codec, so personal data reaches Temporal encrypted.
 */
export async function connectTemporal(env: NodeJS.ProcessEnv = process.env): Promise<{
  client: Client;
  address: string;
  close(): Promise<void>;
}> {
  const settings = readSettings(env);
  const address = settings.TEMPORAL_ADDRESS ?? DEFAULT_TEMPORAL_ADDRESS;
  const connection = await Connection.connect({ address, connectTimeout: '5s' }).catch((err: Error) => {
    throw new Error(`cannot reach Temporal at ${address}: ${err.message}`, { cause: err });
  });
  const { dataConverter } = await loadDataConverter(env);
  const client = new Client({ connection, namespace: settings.TEMPORAL_NAMESPACE, dataConverter });
  return { client, address, close: () => connection.close() };
}
