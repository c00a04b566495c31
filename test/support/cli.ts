import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** tsx's loader by path: tests run the CLI in temp dirs, where a bare `--import tsx` does not resolve. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/**
 * `node` arguments that run the CLI from the sources (so a test sees the code under test, not a
 * dist/ built earlier); bin/leadcycle.js runs the same main() compiled, as test/package.test.ts shows.
 */
export const CLI = ['--import', TSX, fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))];
