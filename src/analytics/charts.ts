/**
 * Funnel, velocity and balance charts as standalone SVG strings, for READMEs and reports. Vega-Lite specs are
 * compiled to Vega and rendered headlessly (`renderer: 'none'`), so no browser or node-canvas is
 * needed: without canvas, Vega estimates text widths, which only makes it leave a little more room
 * for labels than they take.
 */
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { LeadcycleError } from '../errors.js';

export interface FunnelBar {
  stage: string;
  leads: number;
  /** share of the previous step, 0..1, null for the first */
  stepRate: number | null;
}
export interface FunnelSeries {
  label: string;
  steps: FunnelBar[];
}
export interface StageTimeBar {
  stage: string;
  medianDays: number | null;
  meanDays: number | null;
  /** Completed stays, which the times rest on. */
  stays: number;
  /** Stays still running: censored, counted on the chart but not in its times. */
  open: number;
}
export interface ChartOptions {
  title?: string;
  subtitle?: string;
}

export type ChartErrorCode =
  | 'no-series'
  | 'no-steps'
  | 'duplicate-series'
  | 'no-stages'
  | 'no_data'
  | 'invalid_value';

/** Thrown instead of rendering an empty or meaningless chart. */
export class ChartError extends LeadcycleError<ChartErrorCode> {}

const WIDTH = 720;
const FONT = 'Helvetica, Arial, sans-serif';
/** Slate first (the single-series bar colour), then muted hues that stay apart in greyscale too. */
const PALETTE = ['#4c6a92', '#d08c4a', '#6f9a7c', '#9a6f8f', '#8c8c8c', '#b5a15a'];
/** Bars take at most this share of the plot, leaving room for the labels at their ends. */
const BAR_SHARE = 0.7;

/** The text at each bar's end; dark grey even when the bars are coloured by series, to stay legible. */
const LABELS = {
  mark: { type: 'text', align: 'left', dx: 4 },
  encoding: { text: { field: 'label' }, color: { value: '#333' } },
} as const;

const count = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const percent = new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/** Under this many days a duration reads in hours: "0 days" said nothing of a 5-hour stay. */
export const HOURS_BELOW_DAYS = 2;

/** A duration in days in a readable unit: hours under two days, days from there. */
export function formatDuration(days: number): string {
  if (days < HOURS_BELOW_DAYS) {
    const shown = oneDecimal.format(days * 24);
    return `${shown} ${shown === '1' ? 'hour' : 'hours'}`;
  }
  return `${oneDecimal.format(days)} days`;
}

/** Under a velocity row's stage: the stays its times rest on, then (a line of its own) the censored ones. */
export function velocityStaysLabel(t: Pick<StageTimeBar, 'stays' | 'open'>): string {
  const stays = `${count.format(t.stays)} ${t.stays === 1 ? 'stay' : 'stays'}`;
  return t.open === 0 ? stays : `${stays}\n${count.format(t.open)} open (censored)`;
}

/**
 * One series: the funnel; two or more (e.g. "actual" and "what-if: MQL threshold 60"): grouped bars
 * side by side per stage.
 */
export async function funnelChartSvg(series: FunnelSeries[], options: ChartOptions = {}): Promise<string> {
  return render(funnelSpec(series, options));
}

/**
 * Velocity: median and mean time spent in each stage (completed stays), as grouped horizontal bars;
 * stays still open are censored: counted under each stage, not in its times. The axis is in hours
 * when every bar is under two days.
 */
export async function velocityChartSvg(times: StageTimeBar[], options: ChartOptions = {}): Promise<string> {
  return render(velocitySpec(times, options));
}

/** Leads in a stage at the end of a bucket (the funnel over time's balance). */
export interface BalancePoint {
  stage: string;
  /** The end of the bucket: an ISO 8601 instant. */
  at: string;
  leads: number;
}

/** The funnel over time: a line per stage of the leads in it at the end of each bucket. */
export async function balanceChartSvg(points: BalancePoint[], options: ChartOptions = {}): Promise<string> {
  if (points.length === 0) throw new ChartError('no_data', 'balance chart: no bucket to draw');
  for (const p of points) check(p.leads, `leads in ${p.stage} at ${p.at}`);
  const stages = [...new Set(points.map((p) => p.stage))];
  return render({
    ...frame(options, 'Leads per stage over time'),
    data: { values: points },
    height: 260,
    mark: { type: 'line', point: points.length <= 6 * 60, strokeWidth: 2 },
    encoding: {
      x: { field: 'at', type: 'temporal', title: null, axis: { labelColor: '#555', grid: false } },
      y: {
        field: 'leads',
        type: 'quantitative',
        title: 'leads at the end of the bucket',
        axis: { grid: true, tickCount: 5, format: ',~r', titleColor: '#555', labelColor: '#555' },
      },
      color: seriesColor('stage', stages),
    },
  });
}

function funnelSpec(series: FunnelSeries[], options: ChartOptions = {}): TopLevelSpec {
  if (series.length === 0) throw new ChartError('no-series', 'funnel chart: no series given');
  // Series are told apart by label alone (legend, colour, offset): two alike would draw over each other.
  const labels = series.map((s) => s.label);
  if (new Set(labels).size < labels.length) {
    throw new ChartError('duplicate-series', `funnel chart: series labels repeat: ${labels.join(', ')}`);
  }
  const rows = series.flatMap((s) => {
    if (s.steps.length === 0)
      throw new ChartError('no-steps', `funnel chart: series "${s.label}" has no steps`);
    return s.steps.map((step) => {
      check(step.leads, `leads of ${step.stage} in "${s.label}"`);
      if (step.stepRate !== null) check(step.stepRate, `step rate of ${step.stage} in "${s.label}"`);
      const rate = step.stepRate === null ? '' : ` · ${percent.format(step.stepRate)} of previous`;
      return {
        series: s.label,
        stage: step.stage,
        leads: step.leads,
        label: `${count.format(step.leads)}${rate}`,
      };
    });
  });
  const stages = [...new Set(rows.map((r) => r.stage))];
  const grouped = series.length > 1;
  const maxLeads = Math.max(1, ...rows.map((r) => r.leads));
  return {
    ...frame(options, 'Lead funnel'),
    data: { values: rows },
    height: stages.length * (grouped ? 16 * series.length + 12 : 30),
    encoding: {
      y: { field: 'stage', type: 'nominal', scale: { domain: stages }, axis: { title: null } },
      // The labels carry the numbers, so the x axis would only repeat them.
      x: {
        field: 'leads',
        type: 'quantitative',
        scale: { domain: [0, maxLeads / BAR_SHARE], nice: false },
        axis: null,
      },
      ...(grouped
        ? {
            yOffset: {
              field: 'series',
              type: 'nominal',
              scale: { domain: labels, paddingInner: 0.1 },
            },
            color: seriesColor('series', labels),
          }
        : {}),
    },
    layer: [{ mark: { type: 'bar', cornerRadiusEnd: 2, ...(grouped ? {} : { color: PALETTE[0] }) } }, LABELS],
  };
}

function velocitySpec(times: StageTimeBar[], options: ChartOptions = {}): TopLevelSpec {
  if (times.length === 0) throw new ChartError('no-stages', 'velocity chart: no stages given');
  const measures = ['median', 'mean'] as const;
  // Lines of an axis label: the stage, how many completed stays the numbers rest on, how many are open.
  const axisLabel = (t: StageTimeBar) => `${t.stage}\n${velocityStaysLabel(t)}`;
  const rows = times.flatMap((t) => {
    check(t.stays, `stays of ${t.stage}`);
    check(t.open, `open stays of ${t.stage}`);
    return measures.flatMap((measure) => {
      const value = measure === 'median' ? t.medianDays : t.meanDays;
      if (value === null) return []; // no completed stay: no bar, rather than a misleading zero
      check(value, `${measure} days of ${t.stage}`);
      return [{ stage: axisLabel(t), measure, days: value, label: formatDuration(value) }];
    });
  });
  if (rows.length === 0) throw new ChartError('no_data', 'velocity chart: no stage has a completed stay');
  const maxDays = Math.max(...rows.map((r) => r.days));
  // One unit for the axis: hours when every bar is short, as their labels are.
  const inHours = maxDays < HOURS_BELOW_DAYS;
  const unit = inHours ? 24 : 1;
  const values = rows.map((r) => ({ ...r, value: r.days * unit }));
  return {
    ...frame(options, 'Time in stage'),
    data: { values },
    // Room for a third label line (the open stays) when some stage has one.
    height: times.length * (16 * measures.length + (times.some((t) => t.open > 0) ? 28 : 14)),
    encoding: {
      y: {
        field: 'stage',
        type: 'nominal',
        scale: { domain: times.map(axisLabel) },
        axis: {
          title: null,
          labelExpr: "split(datum.label, '\\n')",
          labelLineHeight: 14,
          // Without canvas, text widths are over-estimated: the default limit would cut "open (censored)".
          labelLimit: 260,
        },
      },
      x: {
        field: 'value',
        type: 'quantitative',
        title: inHours ? 'hours in stage' : 'days in stage',
        scale: { domain: [0, (maxDays * unit) / BAR_SHARE], nice: false },
        axis: { grid: true, tickCount: 5, format: ',~r', titleColor: '#555', labelColor: '#555' },
      },
      yOffset: { field: 'measure', type: 'nominal', scale: { domain: [...measures] } },
      color: seriesColor('measure', [...measures]),
    },
    layer: [{ mark: { type: 'bar', cornerRadiusEnd: 2 } }, LABELS],
  };
}

async function render(spec: TopLevelSpec): Promise<string> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** What both charts share: size, title, fonts, no frame around the plot. */
function frame(options: ChartOptions, defaultTitle: string) {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: WIDTH,
    // Fit the whole picture, axis labels and legend included, into WIDTH.
    autosize: { type: 'fit-x', contains: 'padding' },
    padding: 12,
    background: 'white',
    title: {
      text: options.title ?? defaultTitle,
      ...(options.subtitle ? { subtitle: options.subtitle } : {}),
      anchor: 'start',
      offset: 12,
    },
    config: {
      font: FONT,
      view: { stroke: null },
      axis: {
        labelFontSize: 12,
        labelColor: '#333',
        domainColor: '#999',
        tickColor: '#999',
        gridColor: '#eee',
      },
      axisY: { ticks: false, labelPadding: 8 },
      // Without canvas, text widths are over-estimated, so the default limit would cut long series labels.
      legend: { orient: 'top', title: null, labelFontSize: 12, labelLimit: 480, symbolType: 'square' },
      text: { fontSize: 12 },
      title: { fontSize: 16, subtitleFontSize: 12, subtitleColor: '#666' },
    },
  } as const;
}

function seriesColor(field: string, domain: string[]) {
  return { field, type: 'nominal', scale: { domain, range: PALETTE.slice(0, domain.length) } } as const;
}

function check(value: number, what: string): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new ChartError('invalid_value', `${what} must be a finite number ≥ 0, got ${value}`);
  }
}
