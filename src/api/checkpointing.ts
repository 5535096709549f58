// A StreamingContext's checkpoints: restore on start, save after every batch (options.checkpointDir).
//
//   start:  store.restore ─▶ a pipeline with the checkpoint's shard count, each updateStateByKey's state
//           restored into its stage ─▶ each source resumes after its checkpointed position ─▶ the
//           intents after the checkpoint are replayed: the same records (source.replay) at the same
//           batch id and time ─▶ the scheduler continues after the last of them
//   batch:  intent (store.writeIntent): each source's range, from where the previous batch ended to where
//           this one was sealed, and the batch time ─▶ pipeline.run (outputs written) ─▶ save: every
//           stateful operator's state + the sources' positions when the batch was sealed (the scheduler
//           polls ahead; those polls are not in it)
//
// So a batch cut before a kill and not checkpointed writes each of its outputs (a saveAsTextFiles
// directory) again with the same bytes, as the CLI's file job (src/cli/file-batch-aggregate.ts) and
// Spark Structured Streaming's offsets log do. A batch without an intent runs again after a restart on
// the input that follows the checkpoint, cut anew (at least once): in a job with a source that cannot
// replay a range, or a batch across a followed file's truncation (not one stretch of one file).

import { OptionError, SluiceError } from '../errors.js';
import type { Batch } from '../plan/batch.js';
import type { PhysicalPlan } from '../plan/physical.js';
import type { Pipeline } from '../plan/pipeline.js';
import { planFingerprint } from '../plan/plan-fingerprint.js';
import type { SealedBatch } from '../runtime/scheduler.js';
import { CheckpointStore, type BatchIntent, type SourceOffset, type SourceRange } from '../state/checkpoint-store.js';

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

/**
 * What a source gave a batch: the stretch between two of its positions, or undefined when that is not
 * one stretch it can read again (a followed file that was truncated or replaced and read from its start).
 */
function rangeBetween(from: SourceOffset, to: SourceOffset, records: number): SourceRange | undefined {
  if (from.kind === 'file' && to.kind === 'file') {
    if (to.path !== from.path || to.byte < from.byte || to.line < from.line) return undefined;
    // positions mark the ends of whole records, so the range's last record is complete (final)
    return { kind: 'file', from: { byte: from.byte, line: from.line }, to: to.byte, maxRecords: records, final: true };
  }
  if (from.kind === 'generator' && to.kind === 'generator') {
    if (to.produced < from.produced) return undefined;
    return { kind: 'generator', from: from.produced, to: to.produced, ...(to.start !== undefined ? { start: to.start } : {}) };
  }
  return undefined;
}

export class ContextCheckpoints {
  private readonly store: CheckpointStore;
  private readonly plan: PhysicalPlan;
  /** Every source can read a range again, so batches get intents and are replayed exactly. */
  private readonly replayable: boolean;
  /** Where each source stood when the previous batch was sealed (after open: where it resumes). */
  private last: SourceOffset[] = [];

  private constructor(store: CheckpointStore, plan: PhysicalPlan) {
    this.store = store;
    this.plan = plan;
    this.replayable = plan.sources.every((s) => s.replay !== undefined);
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

  /**
   * After the sources are opened: the batches cut before the restart and not checkpointed, each read again
   * from its intent (same batch id, time and records), in order, to run before the scheduler starts.
   */
  async replays(resume: { seq: number } | undefined): Promise<SealedBatch<Batch<unknown>>[]> {
    const sources = this.plan.sources;
    this.last = sources.map((s) => s.position!());
    if (!this.replayable) return [];
    const out: SealedBatch<Batch<unknown>>[] = [];
    for (const intent of await this.store.intents(resume?.seq ?? 0)) {
      const chunks: Batch<unknown>[][] = [];
      let records = 0;
      for (let i = 0; i < sources.length; i++) {
        const range = intent.ranges[sourceId(i)];
        if (!range) throw new SluiceError('ERR_CHECKPOINT', `cannot replay batch intent ${intent.batch}: it holds no range for ${sources[i]!.name}`);
        const chunk = await sources[i]!.replay!(range);
        chunks.push([chunk]);
        records += chunk.length;
      }
      out.push({ seq: intent.batch - 1, time: intent.time, records, chunks, positions: sources.map((s) => s.position!()) });
    }
    return out;
  }

  /** Records, durably, what `batch` takes before it runs (nothing when it cannot be replayed exactly). */
  async intend(batch: SealedBatch<Batch<unknown>>): Promise<void> {
    if (!this.replayable) return;
    const ranges: Record<string, SourceRange> = {};
    for (let i = 0; i < this.plan.sources.length; i++) {
      const to = batch.positions[i] as SourceOffset | undefined;
      const from = this.last[i];
      const range = from && to ? rangeBetween(from, to, batch.chunks[i]!.reduce((n, c) => n + c.length, 0)) : undefined;
      if (!range) return;
      ranges[sourceId(i)] = range;
    }
    const intent: BatchIntent = { batch: batch.seq + 1, time: batch.time, ranges };
    await this.store.writeIntent(intent);
  }

  /** Saves the state after `batch` (its outputs are written) and the sources' positions when it was sealed. */
  async save(batch: SealedBatch<unknown>, pipeline: Pipeline, shards: number): Promise<void> {
    const offsets: Record<string, SourceOffset> = {};
    batch.positions.forEach((p, i) => {
      if (p !== undefined) offsets[sourceId(i)] = p as SourceOffset;
    });
    await this.store.save({ batch: batch.seq + 1, time: batch.time, shards, offsets, states: pipeline.snapshot(), extra: {} });
    this.last = batch.positions as SourceOffset[];
  }

  async close(): Promise<void> {
    await this.store.close();
  }
}
