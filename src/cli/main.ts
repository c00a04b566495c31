/**
 * `leadcycle`: the CLI for people and scripts (bin/leadcycle.js runs it). Human-readable tables by
 * default, `--json` for scripts; exit codes in ./errors.ts.
 */
import { fileURLToPath } from 'node:url';
import { CommanderError, InvalidArgumentError } from 'commander';
import { failureOf } from './errors.js';
import { Output } from './output.js';
import { createProgram } from './program.js';

export async function main(argv = process.argv): Promise<number> {
  const out = new Output();
  try {
    await createProgram(out).parseAsync(argv);
    return 0;
  } catch (err) {
    // Commander prints its own usage errors; an InvalidArgumentError that reaches here was thrown
    // inside an action (bad JSON in an argument) and has not been shown yet.
    if (err instanceof CommanderError && !(err instanceof InvalidArgumentError)) {
      // Commander already printed the help or the usage error.
      return err.exitCode === 0 ? 0 : 2;
    }
    const failure = failureOf(err);
    out.fail(failure.body, failure.message);
    return failure.exitCode;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main();
