/** A simulation as text: one table of what happened, day by day, then the lead at the end. */
import { table } from '../cli/output.js';
import type { SimulationResult } from './result.js';

const fmtDay = (day: number) => (Number.isInteger(day) ? String(day) : day.toFixed(2));

/** One row per journey event and per effect, in time order (journey events first on a tie). */
export function describeSimulation(r: SimulationResult): string {
  const rows: Array<{ day: number; order: number; row: Record<string, string> }> = [];
  r.events.forEach((e, i) => {
    const detail =
      e.outcome === 'refused'
        ? `refused: ${e.refusal}`
        : [e.stage ? `→ ${e.stage}` : e.outcome, e.note].filter(Boolean).join('  ');
    rows.push({ day: e.day, order: i, row: { day: fmtDay(e.day), what: `${e.kind} ${e.type}`, detail } });
  });
  r.effects.forEach((e, i) => {
    rows.push({
      day: e.day,
      order: r.events.length + i,
      row: { day: fmtDay(e.day), what: e.type, detail: effectDetail(e) },
    });
  });
  rows.sort((a, b) => a.day - b.day || a.order - b.order);
  const sent = r.emails.filter((e) => e.delivered).length;
  return [
    `simulation${r.name ? ` "${r.name}"` : ''}: ${r.days} days of ${r.leadKey} on the time-skipping server, in ${(r.durationMs / 1000).toFixed(1)} s`,
    '',
    table(rows.map((x) => x.row)),
    '',
    `emails: ${sent} sent${r.emails.length > sent ? `, ${r.emails.length - sent} skipped` : ''}; stage changes: ${r.stages.length}; handoffs: ${r.handoffs.length}`,
    `at day ${r.days}: ${r.final.stage} (score ${r.final.score}, ${r.final.temperature}, ${r.final.buyingStage}, consent ${r.final.consent})`,
  ].join('\n');
}

function effectDetail(e: SimulationResult['effects'][number]): string {
  const d = e.detail;
  switch (e.type) {
    case 'stage.changed':
      return `${d.from ?? '(new)'} → ${d.to}  (${d.cause}${d.reason ? `: ${d.reason}` : ''})`;
    case 'content.send': {
      const item = d.item as { id?: string } | undefined;
      const skipped = (e.outcome as { skipped?: string } | null)?.skipped;
      return `${d.kind} ${item?.id} (${d.family})${skipped ? `  not sent: ${skipped}` : ''}${e.failed ? `  failed: ${e.failed}` : ''}`;
    }
    case 'sales.handoff':
      return `${d.escalation ? 'escalation' : 'to sales'} (score ${d.score}, ${d.temperature})`;
    default:
      return Object.entries(d)
        .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
        .join(' ');
  }
}
