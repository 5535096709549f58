// A StreamingContext's checkpoints: restore on start, save after every batch (options.checkpointDir).
//
//   start:  store.restore ─▶ a pipeline with the checkpoint's shard count, each updateStateByKey's state
//           restored into its stage ─▶ each source resumes after its checkpointed position
//           ─▶ the scheduler continues at the checkpoint's batch id and after its batch time
//   batch:  pipeline.run (outputs written) ─▶ save: every stateful operator's state + the sources'
//           positions when the batch was sealed (the scheduler polls ahead; those polls are not in it)
//
// A batch that ran but was not checkpointed before a crash runs again after the restart, on the input
// that follows the checkpoint, cut anew: its outputs may be written twice (at least once). The CLI's
// file job adds batch intents to make its file outputs exactly once (src/cli/file-batch-aggregate.ts).

import { OptionError } from '../errors.js';
import type { PhysicalPlan } from '../plan/physical.js';
import type { Pipeline } from '../plan/pipeline.js';
import { planFingerprint } from '../plan/plan-fingerprint.js';
import type { SealedBatch } from '../runtime/scheduler.js';
import { CheckpointStore, type SourceOffset } from '../state/checkpoint-store.js';

const sourceId = (i: number): string => `source-${i}`;

/** Refuses a plan with a source that cannot resume. */
export function checkResumable(plan: PhysicalPlan): void {
  for (const s of plan.sources) {
    if (!s.position || !s.resumeFrom || !s.describe) {
      throw new OptionError(
        'checkpointDir',
        `options.checkpointDir: the source ${s.name} cannot be checkpointed (it cannot be read again from a position after a restart); ` +
          'use fileStream() or generator(), or drop checkpointDir',
      );
    }
  }
}

export interface RestoredJob {
  pipeline: Pipeline;
  /** Where the scheduler continues: the checkpoint's batch id and time (undefined: a fresh start). */
  resume: { seq: number; time: number } | undefined;
  /** Key shards of the built-in state. */
  shards: number;
}

export class ContextCheckpoints {
  private readonly store: CheckpointStore;
  private readonly plan: PhysicalPlan;

  private constructor(store: CheckpointStore, plan: PhysicalPlan) {
    this.store = store;
    this.plan = plan;
  }

  static async open(plan: PhysicalPlan, dir: string, keep: number, warn: (message: string) => void): Promise<ContextCheckpoints> {
    checkResumable(plan);
    return new ContextCheckpoints(await CheckpointStore.open(dir, { keep, fingerprint: planFingerprint(plan), warn }), plan);
  }

  /**
   * Makes the job's pipeline, restored from the newest usable checkpoint when there is one.
   * `makePipeline(shards)` builds a pipeline whose built-in state has `shards` shards (undefined: the default).
   */
  async restore(makePipeline: (shards: number | undefined) => { pipeline: Pipeline; shards: number }): Promise<RestoredJob> {
    const restored = await this.store.restore((c) => {
      const made = makePipeline(c.shards);
      try {
        made.pipeline.restore(c.states);
      } catch (err) {
        made.pipeline.close();
        throw err;
      }
      return made;
    });
    if (!restored) {
      const made = makePipeline(undefined);
      return { ...made, resume: undefined };
    }
    const { checkpoint, value } = restored;
    this.plan.sources.forEach((s, i) => {
      const offset = checkpoint.offsets[sourceId(i)];
      if (offset) s.resumeFrom!(offset);
    });
    return { ...value, resume: { seq: checkpoint.batch, time: checkpoint.time } };
  }

  /** Saves the state after `batch` (its outputs are written) and the sources' positions when it was sealed. */
  async save(batch: SealedBatch<unknown>, pipeline: Pipeline, shards: number): Promise<void> {
    const offsets: Record<string, SourceOffset> = {};
    batch.positions.forEach((p, i) => {
      if (p !== undefined) offsets[sourceId(i)] = p as SourceOffset;
    });
    await this.store.save({ batch: batch.seq + 1, time: batch.time, shards, offsets, states: pipeline.snapshot(), extra: {} });
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
