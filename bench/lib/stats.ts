/** Small numeric helpers for the benchmark: percentiles, medians, rounding, the printed table. */

/** Nearest-rank percentile (p in 0..100) of unsorted samples; NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return Number.isInteger(mid)
    ? ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2
    : (sorted[Math.floor(mid)] as number);
}

export function mean(samples: readonly number[]): number {
  return samples.length === 0 ? Number.NaN : samples.reduce((a, b) => a + b, 0) / samples.length;
}

/** Rounds to `digits` significant digits, keeping integers above that whole (1234.5 → 1235). */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value) || value === 0) return value;
  const magnitude = Math.floor(Math.log10(Math.abs(value))) + 1;
  const decimals = Math.max(0, digits - magnitude);
  return Number(value.toFixed(decimals));
}

export interface Row {
  section: string;
  metric: string;
  value: string;
  note?: string;
}

/** A plain-text table, column widths from the content. */
export function formatTable(rows: readonly Row[]): string {
  const header: Row = { section: 'section', metric: 'metric', value: 'value', note: 'note' };
  const all = [header, ...rows];
  const width = (key: keyof Row) => Math.max(...all.map((r) => (r[key] ?? '').length));
  const widths = {
    section: width('section'),
    metric: width('metric'),
    value: width('value'),
  };
  const line = (r: Row) =>
    [
      r.section.padEnd(widths.section),
      r.metric.padEnd(widths.metric),
      r.value.padStart(widths.value),
      r.note ?? '',
    ]
      .join('  ')
      .trimEnd();
  const rule = '-'.repeat(widths.section + widths.metric + widths.value + 6 + 20);
  return [line(header), rule, ...rows.map(line)].join('\n');
}

/** The same rows as a Markdown table, for the README. */
export function formatMarkdown(rows: readonly Row[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  return [
    '| section | metric | value | note |',
    '|---|---|---:|---|',
    ...rows.map((r) => `| ${r.section} | ${cell(r.metric)} | ${cell(r.value)} | ${cell(r.note ?? '')} |`),
  ].join('\n');
}

/** Runs `task(i)` for i in 0..count-1 with at most `concurrency` in flight. */
export async function boundedAll<T>(
  count: number,
  concurrency: number,
  task: (i: number) => Promise<T>,
  shouldStop: () => boolean = () => false,
): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const lane = async () => {
    for (;;) {
      if (shouldStop()) return;
      const i = next++;
      if (i >= count) return;
      results[i] = await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
  return results;
}
