/** The progress bar of long commands (import, backtest): on stderr, so stdout stays the result. */
import cliProgress from 'cli-progress';

export function progressBar(format: string): cliProgress.SingleBar {
  return new cliProgress.SingleBar(
    { stream: process.stderr, format, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
}
