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
  // Known before parsing, so that a usage error (found while parsing) is answered as JSON too.
  out.json = argv.slice(2).includes('--json');
  try {
    await createProgram(out).parseAsync(argv);
    return 0;
  } catch (err) {
    // Commander prints its own usage errors (unless --json); an InvalidArgumentError that reaches
    // here was thrown inside an action (bad JSON in an argument) and has not been shown yet.
    if (err instanceof CommanderError && !(err instanceof InvalidArgumentError)) {
      if (err.exitCode === 0) return 0; // the help or the version, printed
      const message = err.message.replace(/^error: /, '');
      if (out.json)
        out.fail(
          { error: { code: 'invalid_usage', message, kind: err.code.replace(/^commander\./, '') } },
          message,
        );
      return 2;
    }
    const failure = failureOf(err);
    out.fail(failure.body, failure.message);
    return failure.exitCode;
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main();
