import type { AnyStateMachine, AnyTransitionDefinition, StateNode } from 'xstate';
import { guardLabel, guardTree } from './guard-tree.js';

function edgeLabel(t: AnyTransitionDefinition): string {
  const event = t.eventType === '' ? 'always' : t.eventType;
  return t.guard ? `${event} [${guardLabel(guardTree(t.guard))}]` : event;
}

/**
 * The machine as a Mermaid state diagram, generated from the machine itself so it cannot drift.
 * Only transitions that change state are drawn; the ones that update facts in place are not.
 */
export function toMermaid(machine: AnyStateMachine): string {
  // Mermaid draws parallel regions only inside a composite state, separated by `--`.
  const lines = ['stateDiagram-v2', `  state Lead {`];
  const regions = Object.values(machine.root.states) as StateNode[];
  regions.forEach((region, i) => {
    if (i > 0) lines.push('    --');
    lines.push(`    state ${region.key} {`);
    lines.push(`      [*] --> ${region.initial.target[0]?.key}`);
    for (const node of Object.values(region.states) as StateNode[]) {
      const edges = [...node.transitions.values()].flat().concat(node.always ?? []);
      for (const t of edges) {
        for (const target of t.target ?? []) {
          if (target !== node) lines.push(`      ${node.key} --> ${target.key}: ${edgeLabel(t)}`);
        }
      }
    }
    lines.push('    }');
  });
  lines.push('  }');
  return `${lines.join('\n')}\n`;
}
