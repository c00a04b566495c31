import { describe, expect, it } from 'vitest';
import {
  balanceChartSvg,
  ChartError,
  type FunnelSeries,
  formatDuration,
  funnelChartSvg,
  type StageTimeBar,
  velocityChartSvg,
} from '../../src/analytics/charts.js';

const STAGES = ['visitor', 'lead', 'mql', 'sql', 'opportunity', 'customer'];

/** A series whose step rates are computed the way the analytics do: unrounded. */
function series(label: string, leads: number[]): FunnelSeries {
  return {
    label,
    steps: leads.map((n, i) => ({
      stage: STAGES[i] ?? `stage ${i}`,
      leads: n,
      stepRate: i === 0 ? null : n / (leads[i - 1] ?? 1),
    })),
  };
}

const decode = (s: string) =>
  s
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&amp;', '&');

/** The text a reader sees (in mark groups of one role, if given): `<tspan>` lines joined by newlines. */
function texts(svg: string, role?: string): string[] {
  const scopes = role
    ? [...svg.matchAll(new RegExp(`role-${role}"[^>]*>([\\s\\S]*?)</g>`, 'g'))].map((m) => m[1] ?? '')
    : [svg];
  return scopes.flatMap((scope) =>
    [...scope.matchAll(/<text[^>]*>([\s\S]*?)<\/text>/g)].map((m) =>
      decode((m[1] ?? '').replace(/<\/tspan><tspan[^>]*>/g, '\n').replace(/<[^>]+>/g, '')),
    ),
  );
}

/** A small well-formedness check: one standalone SVG root, and every tag closed in order. */
function expectStandaloneSvg(svg: string): void {
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
  expect(svg).toMatch(/^<svg[^>]* width="720"/);
  const open: string[] = [];
  for (const [tag, close, name, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    if (close) expect(open.pop(), tag).toBe(name);
    else if (!selfClosing) open.push(name as string);
  }
  expect(open).toEqual([]);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
}

describe('funnelChartSvg', () => {
  it('draws one funnel: every stage, the counts and the step rates, formatted', async () => {
    const svg = await funnelChartSvg([series('actual', [12480, 3120, 1300, 520, 210, 61])], {
      title: 'Lead funnel',
      subtitle: 'Last 90 days',
    });
    expectStandaloneSvg(svg);
    const all = texts(svg);
    expect(texts(svg, 'axis-label')).toEqual(STAGES);
    expect(all).toEqual(
      expect.arrayContaining([
        'Lead funnel',
        'Last 90 days',
        '12,480',
        '3,120 · 25% of previous',
        '1,300 · 42% of previous', // 1300/3120 = 0.41666…
        '61 · 29% of previous',
      ]),
    );
    expect(all.join('\n')).not.toMatch(/\d\.\d{3,}/);
    // One series needs no legend.
    expect(texts(svg, 'legend-label')).toEqual([]);
  });

  it('draws two series as grouped bars with both labels in a legend, text escaped by Vega', async () => {
    const whatIf = 'what-if: MQL score ≥ 60 & "fit" <A>';
    const svg = await funnelChartSvg([series('actual', [1000, 400, 120]), series(whatIf, [1000, 400, 90])]);
    expectStandaloneSvg(svg);
    expect(svg).toContain('&amp; &quot;fit&quot; &lt;A&gt;');
    expect(texts(svg, 'legend-label')).toEqual(['actual', whatIf]);
    expect(texts(svg)).toEqual(expect.arrayContaining(['120 · 30% of previous', '90 · 23% of previous']));
    expect(texts(svg, 'title-text')).toEqual(['Lead funnel']);
  });

  it('refuses empty input with a typed error instead of drawing an empty chart', async () => {
    await expect(funnelChartSvg([])).rejects.toMatchObject({ name: 'ChartError', code: 'no-series' });
    await expect(funnelChartSvg([{ label: 'actual', steps: [] }])).rejects.toBeInstanceOf(ChartError);
    await expect(funnelChartSvg([{ label: 'actual', steps: [] }])).rejects.toMatchObject({
      code: 'no-steps',
    });
    await expect(
      funnelChartSvg([{ label: 'actual', steps: [{ stage: 'lead', leads: Number.NaN, stepRate: null }] }]),
    ).rejects.toMatchObject({ code: 'invalid_value' });
    await expect(funnelChartSvg([series('actual', [10]), series('actual', [9])])).rejects.toMatchObject({
      code: 'duplicate-series',
    });
  });
});

describe('velocityChartSvg', () => {
  const times: StageTimeBar[] = [
    { stage: 'lead', medianDays: 2.3333333, meanDays: 5.41666666, stays: 1200, open: 30 },
    { stage: 'mql', medianDays: 0.98, meanDays: null, stays: 1, open: 0 },
    { stage: 'sql', medianDays: null, meanDays: null, stays: 0, open: 4 },
  ];

  it('draws median and mean per stage, skipping missing values, open stays counted as censored', async () => {
    const svg = await velocityChartSvg(times, { title: 'Time in stage' });
    expectStandaloneSvg(svg);
    expect(texts(svg, 'legend-label')).toEqual(['median', 'mean']);
    expect(texts(svg, 'axis-label')).toEqual(
      expect.arrayContaining([
        'lead\n1,200 stays\n30 open (censored)',
        'mql\n1 stay',
        'sql\n0 stays\n4 open (censored)',
      ]),
    );
    const labels = texts(svg).filter((t) => / (days?|hours?)$/.test(t));
    // Three bars: sql has none, mql only its median, in hours (under two days).
    expect(labels).toEqual(['2.3 days', '5.4 days', '23.5 hours']);
    expect(texts(svg, 'axis-title')).toEqual(['days in stage']);
    expect(texts(svg).join('\n')).not.toMatch(/\d\.\d{3,}/);
  });

  it('labels short stays in hours, never "0 days", and puts the axis in hours when every bar is short', async () => {
    const svg = await velocityChartSvg([
      { stage: 'lead', medianDays: 0.01, meanDays: 1 / 24, stays: 10, open: 0 },
      { stage: 'mql', medianDays: 1.99, meanDays: 1.5, stays: 3, open: 0 },
    ]);
    const labels = texts(svg).filter((t) => / (days?|hours?)$/.test(t));
    expect(labels).toEqual(['0.2 hours', '1 hour', '47.8 hours', '36 hours']);
    expect(texts(svg).join('\n')).not.toContain('0 days');
    expect(texts(svg, 'axis-title')).toEqual(['hours in stage']);
  });

  it('refuses empty input with a typed error', async () => {
    await expect(velocityChartSvg([])).rejects.toMatchObject({ code: 'no-stages' });
    await expect(velocityChartSvg([times[2] as StageTimeBar])).rejects.toMatchObject({ code: 'no_data' });
  });
});

describe('balanceChartSvg', () => {
  it('draws a line per stage with a legend of the stages, and refuses nothing to draw', async () => {
    const at = ['2026-11-09T00:00:00.000Z', '2026-11-16T00:00:00.000Z', '2026-11-23T00:00:00.000Z'];
    const points = ['lead', 'mql', 'sql'].flatMap((stage, s) =>
      at.map((t, i) => ({ stage, at: t, leads: (3 - s) * 10 + i })),
    );
    const svg = await balanceChartSvg(points, { title: 'Leads per stage over time' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(texts(svg, 'legend-label')).toEqual(['lead', 'mql', 'sql']);
    // One line per stage.
    expect(svg.match(/<path[^>]*d="M/g)?.length ?? 0).toBeGreaterThanOrEqual(3);
    expect(svg).toContain('mark-line role-mark');
    expect(texts(svg, 'title-text')).toEqual(['Leads per stage over time']);
    await expect(balanceChartSvg([])).rejects.toMatchObject({ code: 'no_data' });
    await expect(balanceChartSvg([{ stage: 'lead', at: at[0] as string, leads: -1 }])).rejects.toBeInstanceOf(
      ChartError,
    );
  });
});

describe('formatDuration', () => {
  it('reads in hours under two days, in days from two days on', () => {
    expect(formatDuration(0)).toBe('0 hours');
    expect(formatDuration(1 / 24)).toBe('1 hour');
    expect(formatDuration(1.999)).toBe('48 hours');
    expect(formatDuration(2)).toBe('2 days');
    expect(formatDuration(12.345)).toBe('12.3 days');
  });
});
