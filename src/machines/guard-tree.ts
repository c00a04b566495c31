/**
 * A transition's guard as a tree. xstate's `and` and `not` keep their parts in internals (a function
 * with a `guards` array); they are read here only, for the diagram and for explaining refusals.
 */
export type GuardNode =
  | { kind: 'check'; name: string; params?: Record<string, unknown> }
  | { kind: 'and'; parts: GuardNode[] }
  | { kind: 'not'; part: GuardNode };

type GuardRef =
  | string
  | { type: string; params?: Record<string, unknown> }
  | { name: string; guards?: GuardRef[] };

export function guardTree(guard: unknown): GuardNode {
  const ref = guard as GuardRef;
  if (typeof ref === 'string') return { kind: 'check', name: ref };
  if ('type' in ref)
    return ref.params
      ? { kind: 'check', name: ref.type, params: ref.params }
      : { kind: 'check', name: ref.type };
  const parts = (ref.guards ?? []).map(guardTree);
  if (ref.name === 'and') return { kind: 'and', parts };
  if (ref.name === 'not' && parts[0]) return { kind: 'not', part: parts[0] };
  return { kind: 'check', name: ref.name || 'guard' };
}

/** `a & b`, `!a`, `name(params)` or the name: how a guard reads in the diagram. */
export function guardLabel(node: GuardNode): string {
  if (node.kind === 'and') return node.parts.map(guardLabel).join(' & ');
  if (node.kind === 'not') return `!${guardLabel(node.part)}`;
  return node.params ? `${node.name}(${Object.values(node.params).join(', ')})` : node.name;
}
