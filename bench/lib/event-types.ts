/** History event types by name (the proto enum), for telling what a workflow writes per message. */
import proto from '@temporalio/proto';

const { EventType } = proto.temporal.api.enums.v1;

export function eventTypeName(type: unknown): string {
  const name = typeof type === 'number' ? EventType[type] : String(type);
  return (name ?? `EVENT_TYPE_${String(type)}`).replace(/^EVENT_TYPE_/, '');
}

/** Counts of each event type among `events`. */
export function countEventTypes(events: ReadonlyArray<{ eventType?: unknown }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const e of events) {
    const name = eventTypeName(e.eventType);
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}
