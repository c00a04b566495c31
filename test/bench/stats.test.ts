import { describe, expect, it } from 'vitest';
import { boundedAll, formatMarkdown, formatTable, median, percentile, round } from '../../bench/lib/stats.js';

describe('benchmark statistics', () => {
  it('takes nearest-rank percentiles and medians of unsorted samples', () => {
    const samples = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(samples, 50)).toBe(5);
    expect(percentile(samples, 99)).toBe(10);
    expect(percentile(samples, 0)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
    expect(median(samples)).toBe(5.5);
    expect(median([3, 1, 2])).toBe(2);
  });

  it('rounds to significant digits without losing integer parts', () => {
    expect(round(1234.56)).toBe(1235);
    expect(round(0.012345)).toBe(0.0123);
    expect(round(12.345, 2)).toBe(12);
    expect(round(0)).toBe(0);
  });

  it('never runs more tasks at once than allowed, and can stop early', async () => {
    let running = 0;
    let peak = 0;
    const results = await boundedAll(20, 3, async (i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 1));
      running--;
      return i * 2;
    });
    expect(peak).toBe(3);
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i * 2));

    let started = 0;
    await boundedAll(
      100,
      2,
      async () => {
        started++;
      },
      () => started >= 10,
    );
    expect(started).toBe(10);
  });

  it('prints the same rows as a text table and a Markdown table', () => {
    const rows = [{ section: 'engine', metric: 'ratio | ours', value: '0.9', note: 'goal ≥ 0.8' }];
    expect(formatTable(rows).split('\n')[2]).toMatch(/^engine\s+ratio \| ours\s+0\.9\s+goal ≥ 0\.8$/);
    expect(formatMarkdown(rows)).toContain('| engine | ratio \\| ours | 0.9 | goal ≥ 0.8 |');
  });
});
