import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatElapsed, timedStep, withTimedStep } from '../src/cli/progress.js';

/** A stream that keeps what is written, as a terminal or as a log file. */
function capture(isTTY: boolean) {
  const chunks: string[] = [];
  return { stream: { isTTY, write: (text: string) => chunks.push(text) }, chunks };
}

describe('timedStep', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('on a terminal: a start line, the elapsed time redrawn every 10 s, a final line with the time', () => {
    const { stream, chunks } = capture(true);
    const step = timedStep('x from PyPI into /t', { stream });
    expect(chunks).toEqual(['leadcycle: installing x from PyPI into /t…\n']);
    vi.advanceTimersByTime(9_999);
    expect(chunks).toHaveLength(1);
    vi.advanceTimersByTime(1);
    vi.advanceTimersByTime(60_000);
    expect(chunks.slice(1)).toEqual([
      '\r\x1b[2K  still installing, 10s',
      ...['20s', '30s', '40s', '50s', '1m 00s'].map((t) => `\r\x1b[2K  still installing, ${t}`),
      '\r\x1b[2K  still installing, 1m 10s',
    ]);
    vi.advanceTimersByTime(2_500);
    step.done();
    expect(chunks.at(-1)).toBe('\r\x1b[2Kleadcycle: installed x from PyPI into /t in 1m 12s\n');
    // Done means done: no tick after it.
    vi.advanceTimersByTime(60_000);
    expect(chunks).toHaveLength(9);
  });

  it('in a log: a line a minute, each a whole line naming the step', () => {
    const { stream, chunks } = capture(false);
    const step = timedStep('the server', { stream });
    vi.advanceTimersByTime(130_000);
    step.done();
    expect(chunks).toEqual([
      'leadcycle: installing the server…\n',
      'leadcycle: still installing (1m 00s): the server\n',
      'leadcycle: still installing (2m 00s): the server\n',
      'leadcycle: installed the server in 2m 10s\n',
    ]);
  });

  it('withTimedStep reports a failure with its time and lets the error through', async () => {
    const { stream, chunks } = capture(false);
    const failing = withTimedStep(
      'y',
      async () => {
        await new Promise((r) => setTimeout(r, 3_000));
        throw new Error('pip said no');
      },
      { stream },
    );
    const caught = expect(failing).rejects.toThrow('pip said no');
    await vi.advanceTimersByTimeAsync(3_000);
    await caught;
    expect(chunks).toEqual(['leadcycle: installing y…\n', 'leadcycle: installing y failed in 3s\n']);
  });

  it('formats elapsed times', () => {
    expect([0, 999, 59_999, 60_000, 425_000, 3_600_000].map(formatElapsed)).toEqual([
      '0s',
      '0s',
      '59s',
      '1m 00s',
      '7m 05s',
      '60m 00s',
    ]);
  });
});
