import { fileURLToPath } from 'node:url';

/**
 * `node` arguments that run the CLI from the sources (so a test sees the code under test, not a
 * dist/ built earlier); bin/leadcycle.js runs the same main() compiled, as test/package.test.ts shows.
 */
export const CLI = ['--import', 'tsx', fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))];
