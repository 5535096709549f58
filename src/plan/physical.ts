// Logical DAG -> physical stages: narrow chains fused into one pass, keyed stages on their own.
//
//   source ─▶ map ─▶ filter ─▶ keyBy ─▶ reduceByKey ─▶ output        logical nodes
//   └──────┘ └────────────────────────┘ └───────────┘ └────┘
//    source     narrow (one fused pass)     keyed       sink           stages
//
// A chain of narrow nodes fuses as long as each inner node has one consumer. A node with several
// consumers (a stream used by two outputs, say) ends its stage, so its result is computed once per
// batch and shared. Only nodes reachable from an output become stages; stages are listed inputs
// first, so running them in order runs every input before its consumers.

import type { Sink } from '../sinks/sink.js';
import type { Source } from '../sources/source.js';
import type { NarrowOp, OutputNode, PairsNode, PlanNode, ReduceByKeyNode, UpdateStateByKeyNode } from './logical.js';

export type Stage =
  | { readonly kind: 'source'; readonly index: number }
  | { readonly kind: 'narrow'; readonly input: Stage; readonly ops: readonly NarrowOp[] }
  | { readonly kind: 'pairs'; readonly input: Stage; readonly node: PairsNode }
  | { readonly kind: 'keyed'; readonly input: Stage; readonly node: ReduceByKeyNode | UpdateStateByKeyNode };

export interface PhysicalPlan {
  /** The sources the outputs read, in the order batches list their chunks. */
  readonly sources: readonly Source<unknown>[];
  /** Every stage, inputs before consumers. */
  readonly stages: readonly Stage[];
  /** Outputs in the order they were declared: each batch writes them in this order. */
  readonly outputs: ReadonlyArray<{ readonly stage: Stage; readonly sink: Sink<unknown> }>;
}

function parentOf(node: PlanNode): PlanNode | undefined {
  return node.kind === 'source' ? undefined : node.parent;
}

export function planPhysical(outputs: readonly OutputNode[]): PhysicalPlan {
  // How many consumers each reachable node has (outputs count as consumers).
  const consumers = new Map<PlanNode, number>();
  const visit = (node: PlanNode): void => {
    const seen = consumers.has(node);
    consumers.set(node, (consumers.get(node) ?? 0) + 1);
    const parent = parentOf(node);
    if (!seen && parent) visit(parent);
  };
  for (const o of outputs) visit(o.parent);

  const sources: Source<unknown>[] = [];
  const stages: Stage[] = [];
  const made = new Map<PlanNode, Stage>();

  const stageOf = (node: PlanNode): Stage => {
    const existing = made.get(node);
    if (existing) return existing;
    let stage: Stage;
    switch (node.kind) {
      case 'source': {
        let index = sources.indexOf(node.source);
        if (index < 0) index = sources.push(node.source) - 1;
        stage = { kind: 'source', index };
        break;
      }
      case 'narrow': {
        const ops: NarrowOp[] = [node.step];
        let top: PlanNode = node.parent;
        while (top.kind === 'narrow' && consumers.get(top) === 1) {
          ops.unshift(top.step);
          top = top.parent;
        }
        stage = { kind: 'narrow', input: stageOf(top), ops };
        break;
      }
      case 'pairs':
        stage = { kind: 'pairs', input: stageOf(node.parent), node };
        break;
      case 'reduceByKey':
      case 'updateStateByKey':
        stage = { kind: 'keyed', input: stageOf(node.parent), node };
        break;
    }
    made.set(node, stage);
    stages.push(stage);
    return stage;
  };

  const planned = outputs.map((o) => ({ stage: stageOf(o.parent), sink: o.sink }));
  return { sources, stages, outputs: planned };
}
