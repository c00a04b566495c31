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
