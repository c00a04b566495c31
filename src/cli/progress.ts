/** The progress bar of long commands (import, backtest): on stderr, so stdout stays the result. */
import cliProgress from 'cli-progress';

export function progressBar(format: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    { stream: process.stderr, format, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
}

/** A progress callback that draws `bar` every `every` steps and at the end: drawing is slower than the work. */
export function drawEvery(bar: cliProgress.SingleBar, every: number): (done: number, total: number) => void {
  let shown: number | null = null;
  return (done, total) => {
    if (shown === null) bar.start(total, 0);
    if (shown !== null && done - shown < every && done !== total) return;
    bar.setTotal(total);
    bar.update(done);
    shown = done;
  };
}

/** Where a timed step writes: stderr by default; `isTTY` decides between redrawing a line and adding lines. */
export interface StepStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface TimedStepOptions {
  stream?: StepStream;
  /** Default Date.now; tests pass a fake clock (and fake timers for the ticks). */
  now?: () => number;
  /** How often the elapsed time is redrawn on a terminal. Default 10 s. */
  ttyEveryMs?: number;
  /** How often a line is added when stderr is a file or a pipe (a CI log). Default 60 s. */
  lineEveryMs?: number;
}

export interface TimedStep {
  /** Ends the step with the time it took. */
  done(): void;
  /** Ends the step saying it failed, with the time it took; the caller reports why. */
  failed(): void;
}

/** `7m 05s`, `42s`: a step's elapsed time at a glance. */
export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
}

/**
 * A step with no count to show (a pip or go install, silent for minutes): a line when it starts, the
 * elapsed time while it runs (redrawn in place on a terminal, a line now and then in a log), and a
 * line with the time it took. `what` reads after "installing" / "installed": name, from where, into where.
 */
export function timedStep(what: string, options: TimedStepOptions = {}): TimedStep {
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? Date.now;
  const tty = stream.isTTY === true;
  const started = now();
  const elapsed = () => formatElapsed(now() - started);
  stream.write(`leadcycle: installing ${what}…\n`);
  const ticker = setInterval(
    () => {
      if (tty) stream.write(`\r\x1b[2K  still installing, ${elapsed()}`);
      else stream.write(`leadcycle: still installing (${elapsed()}): ${what}\n`);
    },
    tty ? (options.ttyEveryMs ?? 10_000) : (options.lineEveryMs ?? 60_000),
  );
  // A step must not keep the process alive; the work it reports on does.
  ticker.unref?.();
  let ended = false;
  const end = (line: string) => {
    if (ended) return;
    ended = true;
    clearInterval(ticker);
    stream.write(`${tty ? '\r\x1b[2K' : ''}leadcycle: ${line} in ${elapsed()}\n`);
  };
  return {
    done: () => end(`installed ${what}`),
    failed: () => end(`installing ${what} failed`),
  };
}

/** Runs `body` as a timed step: done when it resolves, failed when it throws (the error goes on). */
export async function withTimedStep<T>(
  what: string,
  body: () => Promise<T>,
  options?: TimedStepOptions,
): Promise<T> {
  const step = timedStep(what, options);
  try {
    const result = await body();
    step.done();
    return result;
  } catch (err) {
    step.failed();
    throw err;
  }
}
