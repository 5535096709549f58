// Runs a physical plan over one batch: every stage once, inputs first, then the outputs in order.

import type { OperatorState } from '../state/checkpoint-store.js';
import { SnapshotError } from '../state/shard-snapshot.js';
import { Batch } from './batch.js';
import { createKeyedOperator, type AccumulatorsFactory, type KeyedOperator } from './keyed.js';
import { NarrowOperator } from './narrow.js';
import { runPairs } from './pairs.js';
import type { PhysicalPlan, Stage } from './physical.js';

export interface PipelineBatch {
  /** 0, 1, 2, ... */
  readonly seq: number;
  /** Batch time, ms. */
  readonly time: number;
  /** Each source's records in this batch, in plan.sources order. */
  readonly inputs: readonly Batch<unknown>[];
}

export class Pipeline {
  private readonly plan: PhysicalPlan;
  private readonly narrow = new Map<Stage, NarrowOperator>();
  private readonly keyed = new Map<Stage, KeyedOperator>();

  constructor(plan: PhysicalPlan, accumulators: AccumulatorsFactory) {
    this.plan = plan;
    for (const stage of plan.stages) {
      if (stage.kind === 'narrow') this.narrow.set(stage, new NarrowOperator(stage.ops));
      if (stage.kind === 'keyed') this.keyed.set(stage, createKeyedOperator(stage.node, accumulators));
    }
  }

  async run(batch: PipelineBatch): Promise<void> {
    const results = new Map<Stage, Batch<unknown>>();
    const stamp = batch.seq + 1;
    for (const stage of this.plan.stages) {
      let out: Batch<unknown>;
      switch (stage.kind) {
        case 'source':
          out = batch.inputs[stage.index] ?? Batch.empty;
          break;
        case 'narrow':
          out = this.narrow.get(stage)!.run(results.get(stage.input)!);
          break;
        case 'pairs':
          out = runPairs(stage.node, results.get(stage.input)!);
          break;
        case 'keyed':
          out = await this.keyed.get(stage)!.run(results.get(stage.input)!, stamp, batch.time);
          break;
      }
      results.set(stage, out);
    }
    for (const { stage, sink } of this.plan.outputs) await sink.write(results.get(stage)!, batch.time);
  }

  /** The state of every keyed operator that keeps one, each under the id of its stage (`stage-<index>`). */
  snapshot(): OperatorState[] {
    const out: OperatorState[] = [];
    for (const [stage, op] of this.keyed) {
      const state = op.snapshot(stageId(this.plan, stage));
      if (state) out.push(state);
    }
    return out;
  }

  /** Gives each keyed operator its checkpointed state; throws a SnapshotError when one is missing or does not fit. */
  restore(states: readonly OperatorState[]): void {
    const byId = new Map(states.map((s) => [s.id, s]));
    for (const [stage, op] of this.keyed) {
      if (!op.stateful) continue;
      const id = stageId(this.plan, stage);
      const state = byId.get(id);
      if (!state) throw new SnapshotError(`the checkpoint holds no state for ${id}`);
      op.restore(state);
    }
  }

  close(): void {
    for (const op of this.keyed.values()) op.close();
  }
}

function stageId(plan: PhysicalPlan, stage: Stage): string {
  return `stage-${plan.stages.indexOf(stage)}`;
}
