/**
 * Headless Chromium for the browser tests: Debian's (`scripts/ensure-chromium.sh` installs it before
 * `npm test`), or LEADCYCLE_CHROMIUM's.
 */
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = process.env.LEADCYCLE_CHROMIUM ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
    ],
  });
}
