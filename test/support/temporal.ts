/**
 * Test-side access to the Temporal servers started once by test/global-setup.ts.
 *
 * Workers need a NativeConnection, so build a TestWorkflowEnvironment per test file
 * (createDevServerEnv / createTimeSkippingEnv) and call env.teardown() in afterAll.
 * Teardown only closes connections: the servers belong to the global setup.
 */
import { Connection } from '@temporalio/client';
import { InternalConnectionOptionsSymbol } from '@temporalio/client/lib/connection.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { inject } from 'vitest';
import { startTimeSkippingServer } from '../../src/temporal/server.js';

// Workers log every state change at INFO; tests only need warnings and errors.
Runtime.install({ logger: new DefaultLogger('WARN') });

declare module 'vitest' {
  export interface ProvidedContext {
    /** host:port of the dev server (ours, or TEMPORAL_ADDRESS). */
    temporalAddress: string;
    temporalNamespace: string;
    /** False when the tests run against an external TEMPORAL_ADDRESS server: don't mutate it. */
    temporalServerIsOurs: boolean;
    /** The workflow bundle built once for the whole run. */
    workflowBundlePath: string;
  }
}

export interface DevServerInfo {
  address: string;
  namespace: string;
  isOurs: boolean;
}

/** The shared dev server: real persistence, real time, our search attributes registered. */
export function devServer(): DevServerInfo {
  return {
    address: inject('temporalAddress'),
    namespace: inject('temporalNamespace'),
    isOurs: inject('temporalServerIsOurs'),
  };
}

export function createDevServerEnv(): Promise<TestWorkflowEnvironment> {
  const { address, namespace } = devServer();
  return TestWorkflowEnvironment.createFromExistingServer({ address, namespace });
}

/**
 * A time-skipping environment on a private test server for one test file: the server's clock is
 * global, so files sharing one would move each other's time. `teardown()` stops the server too.
 */
export async function startTimeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  const server = await startTimeSkippingServer();
  const env = await createTimeSkippingEnv(server.address);
  const teardown = env.teardown.bind(env);
  env.teardown = async () => {
    await teardown();
    await server.stop();
  };
  return env;
}

/** A time-skipping environment on a running test server. */
export function createTimeSkippingEnv(address: string): Promise<TestWorkflowEnvironment> {
  return ExistingTimeSkippingEnvironment.connect(address);
}

/**
 * TestWorkflowEnvironment only offers time skipping on a server it launches itself (which it gives 5 s
 * to start). Connecting to a running one needs the same test-service flag the SDK sets internally.
 */
class ExistingTimeSkippingEnvironment extends TestWorkflowEnvironment {
  static async connect(address: string): Promise<TestWorkflowEnvironment> {
    const options = {
      address,
      [InternalConnectionOptionsSymbol]: { supportsTestService: true },
    };
    const nativeConnection = await NativeConnection.connect(options);
    const connection = await Connection.connect(options);
    return new ExistingTimeSkippingEnvironment(
      Runtime.instance(),
      { server: { type: 'existing' }, client: {}, plugins: [] },
      true, // supportsTimeSkipping: makes env.client a TimeSkippingClient
      'existing', // teardown() then leaves the server running
      connection,
      nativeConnection,
      'default',
      address,
    );
  }
}
