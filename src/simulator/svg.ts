/**
 * A simulation as an SVG timeline (hand-written: four lanes need no chart library): the lead's stages
 * as bands, journey events, emails and handoffs as marks, against days. Every mark has a <title>
 * (hover text); the text is escaped.
 */
import type { SimulationResult } from './result.js';

const WIDTH = 960;
const LEFT = 90;
const RIGHT = 20;
const LANE = 34;
const LANES = ['stage', 'journey', 'emails', 'sales'] as const;
const HEIGHT = 40 + LANES.length * LANE + 40;

const STAGE_COLOURS: Record<string, string> = {
  visitor: '#cbd5e1',
  lead: '#93c5fd',
  mql: '#60a5fa',
  sql: '#f59e0b',
  opportunity: '#f97316',
  customer: '#22c55e',
  recycled: '#a78bfa',
  disqualified: '#ef4444',
  merged: '#64748b',
};

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function simulationSvg(r: SimulationResult): string {
  const x = (day: number) => LEFT + (Math.min(Math.max(day, 0), r.days) / r.days) * (WIDTH - LEFT - RIGHT);
  const laneY = (lane: (typeof LANES)[number]) => 40 + LANES.indexOf(lane) * LANE;
  const parts: string[] = [];
  parts.push(
    `<text x="${LEFT}" y="22" font-size="14" font-weight="bold">${esc(r.name ?? 'simulation')}: ${r.days} days</text>`,
  );
  for (const lane of LANES) {
    parts.push(`<text x="8" y="${laneY(lane) + LANE / 2 + 4}" font-size="12">${lane}</text>`);
    parts.push(
      `<line x1="${LEFT}" x2="${WIDTH - RIGHT}" y1="${laneY(lane) + LANE}" y2="${laneY(lane) + LANE}" stroke="#e2e8f0"/>`,
    );
  }
  // Stages: a band from each change to the next.
  r.stages.forEach((s, i) => {
    const to = r.stages[i + 1]?.day ?? r.days;
    const y = laneY('stage') + 4;
    const w = Math.max(1, x(to) - x(s.day));
    parts.push(
      `<rect x="${x(s.day).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${LANE - 8}" fill="${STAGE_COLOURS[s.to] ?? '#94a3b8'}"><title>${esc(`day ${s.day}: ${s.from ?? '(new)'} → ${s.to} (${s.cause}${s.reason ? `: ${s.reason}` : ''})`)}</title></rect>`,
    );
    if (w > 40)
      parts.push(`<text x="${(x(s.day) + 3).toFixed(1)}" y="${y + 17}" font-size="11">${esc(s.to)}</text>`);
  });
  for (const e of r.events) {
    const colour = e.outcome === 'refused' ? '#ef4444' : '#0f172a';
    const cx = x(e.day).toFixed(1);
    parts.push(
      `<circle cx="${cx}" cy="${laneY('journey') + LANE / 2}" r="4" fill="${colour}"><title>${esc(`day ${e.day}: ${e.type}${e.refusal ? ` refused: ${e.refusal}` : ''}${e.note ? ` (${e.note})` : ''}`)}</title></circle>`,
    );
  }
  for (const m of r.emails) {
    const y = laneY('emails');
    parts.push(
      `<rect x="${(x(m.day) - 2).toFixed(1)}" y="${y + 8}" width="4" height="${LANE - 16}" fill="${m.delivered ? (m.kind === 'newsletter' ? '#16a34a' : '#2563eb') : '#cbd5e1'}"><title>${esc(`day ${m.day}: ${m.kind} ${m.item} (${m.family})${m.skipped ? ` not sent: ${m.skipped}` : ''}`)}</title></rect>`,
    );
  }
  for (const h of r.handoffs) {
    const cx = x(h.day);
    const y = laneY('sales') + LANE / 2;
    parts.push(
      `<path d="M${(cx - 5).toFixed(1)},${y + 5} L${cx.toFixed(1)},${y - 6} L${(cx + 5).toFixed(1)},${y + 5} Z" fill="${h.escalation ? '#dc2626' : '#f59e0b'}"><title>${esc(`day ${h.day}: ${h.type}${h.escalation ? ' (escalation)' : ''}`)}</title></path>`,
    );
  }
  // The day axis: about ten ticks.
  const axisY = 40 + LANES.length * LANE;
  const step = niceStep(r.days / 10);
  for (let d = 0; d <= r.days + 1e-9; d += step) {
    parts.push(
      `<line x1="${x(d).toFixed(1)}" x2="${x(d).toFixed(1)}" y1="${axisY}" y2="${axisY + 5}" stroke="#475569"/>`,
    );
    parts.push(
      `<text x="${x(d).toFixed(1)}" y="${axisY + 18}" font-size="10" text-anchor="middle">${+d.toFixed(2)}</text>`,
    );
  }
  parts.push(`<text x="${WIDTH - RIGHT}" y="${axisY + 34}" font-size="10" text-anchor="end">day</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function niceStep(raw: number): number {
  const base = 10 ** Math.floor(Math.log10(Math.max(raw, 1e-6)));
  for (const m of [1, 2, 5, 10]) if (m * base >= raw) return m * base;
  return 10 * base;
}
