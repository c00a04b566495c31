/**
 * How a simulation lets time pass. On the time-skipping test server, a sleep skips the server's
 * clock (timers fire at once, in order, each effect carried out at its own instant); on a real
 * server (the fast-clock check against the dev server), a sleep is a real one.
 */
import type { Connection } from '@temporalio/client';
import { msToTs, tsToMs } from '@temporalio/common/lib/time.js';

export interface SimClock {
  /** The server's time, in ms. */
  now(): Promise<number>;
  sleep(ms: number): Promise<void>;
}

/** A connection made with the test service (see time-skipping.ts): its sleeps skip time. */
export function timeSkippingClock(connection: Connection): SimClock {
  const testService = connection.testService;
  if (!testService) throw new Error('timeSkippingClock needs a connection with the test service');
  return {
    now: async () => tsToMs((await testService.getCurrentTime({})).time),
    sleep: async (ms) => {
      if (ms > 0) await testService.unlockTimeSkippingWithSleep({ duration: msToTs(ms) });
    },
  };
}

export const realClock: SimClock = {
  now: async () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};
