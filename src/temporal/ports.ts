/** Local ports for the servers we start: a free one, or a check that the one asked for is free. */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { TemporalServerError } from './errors.js';

/** Not "localhost": Node may resolve it to ::1 while the server listens on IPv4. */
export const HOST = '127.0.0.1';

/** A port the OS considers free right now (there is an unavoidable race until someone binds it). */
export async function getFreePort(host: string = HOST): Promise<number> {
  const probe = createServer();
  probe.listen(0, host);
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  await once(probe, 'close');
  if (address === null || typeof address === 'string') throw new Error('unexpected server address');
  return address.port;
}

// Without this check a server already on the port would answer our readiness probe
// while our own process is still failing to bind.
export async function assertPortFree(port: number): Promise<void> {
  const probe = createServer();
  try {
    probe.listen(port, HOST);
    await once(probe, 'listening');
  } catch (err) {
    throw new TemporalServerError(
      'port_in_use',
      `port ${port} on ${HOST} is already in use; stop whatever listens there, pick another port, ` +
        'or set TEMPORAL_ADDRESS to use that server',
      { cause: err },
    );
  }
  probe.close();
  await once(probe, 'close');
}
