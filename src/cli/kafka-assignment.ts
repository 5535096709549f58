// Where a Kafka job decides, for each partition it starts or stops owning, what state the partition's
// shard holds and at which input offset reading resumes. The one place to extend for local checkpoints.
//
//   revoked p   shard p emptied (its state is the next owner's now); the producer of p's id closed
//   added p     handover: fence (initialise p's and the `all` transactional ids: the previous owner can
//               write nothing more), restore shard p from changelog partition p (read to its end), read
//               the group's committed offset of p, and start p at max(committed, the changelog's marker):
//               a commit that failed after its state was written must not count that input twice
//               single member: start p where the job's local checkpoint says (`starts`), else at the
//               committed offset read when the job started
//
// A rebalance that happens while a restore runs just makes more changes: apply() loops until there are
// none, and KafkaSource.start() ignores a partition whose epoch moved on meanwhile.

import { Kafka, logLevel as kafkaLogLevel, type Admin, type KafkaConfig } from 'kafkajs';
import { SluiceError } from '../errors.js';
import type { KernelRuntime } from '../runtime/pool.js';
import type { Changelog } from '../state/changelog.js';
import type { ByteShardTable, ShardSet } from '../state/shard-table.js';
import type { KafkaTransactions } from '../sinks/kafka-transactions.js';
import type { KafkaSource } from '../sources/kafka.js';

/** What a job that hands partitions over between members needs (its shard p is partition p). */
export interface HandoverParts {
  state: ShardSet<ByteShardTable>;
  rt: KernelRuntime;
  changelog: Changelog;
  transactions: KafkaTransactions;
  brokers: string[];
  kafka?: Partial<KafkaConfig>;
  logLevel?: kafkaLogLevel;
}

export interface KafkaAssignmentOptions {
  source: KafkaSource;
  /** Set when partitions are handed over between members; without it the member owns them all. */
  handover?: HandoverParts;
  /** One line per assignment change (stderr in the CLI). */
  log?: (line: string) => void;
  /**
   * Single member: where each partition starts (the next offset to read, from a local checkpoint). A
   * partition not in it starts at the source's default (the group's committed offset, else its first).
   */
  starts?: ReadonlyMap<number, number>;
}

export class KafkaAssignment {
  private readonly options: KafkaAssignmentOptions;
  private admin: Admin | undefined;
  /** Keys restored from the changelog so far. */
  restoredKeys = 0;

  constructor(options: KafkaAssignmentOptions) {
    this.options = options;
  }

  /** Applies every pending assignment change (call it between batches: it touches the shards). */
  async apply(): Promise<void> {
    const { source, handover, log } = this.options;
    for (;;) {
      const changed = source.takeChanges();
      if (changed.length === 0) return;
      const added = changed.filter((p) => source.epochOf(p) !== undefined);
      const revoked = changed.filter((p) => source.epochOf(p) === undefined);
      if (handover) {
        for (const p of changed) handover.state.reset(p);
        await Promise.all(revoked.map((p) => handover.transactions.drop(p)));
        if (revoked.length > 0) log?.(`partitions ${revoked.join(',')} of ${source.topic} went to another member; owned now: ${list(source.ownedPartitions)}`);
      }
      if (added.length === 0) continue;
      const epochs = new Map(added.map((p) => [p, source.epochOf(p)!]));
      if (!handover) {
        const starts = this.options.starts;
        for (const p of added) source.start(p, epochs.get(p)!, starts?.get(p) ?? source.defaultStart(p));
        continue;
      }
      await handover.transactions.fence(added);
      const restored = await handover.changelog.restore(handover.rt, added, handover.state);
      const { committed, low, high } = await this.offsets();
      const starts: string[] = [];
      let keys = 0;
      for (const p of added) {
        const r = restored.get(p)!;
        const c = committed.get(p) ?? -1;
        const first = low.get(p) ?? 0;
        if (r.offset !== undefined && r.offset > (high.get(p) ?? 0)) {
          throw new SluiceError(
            'ERR_STATE',
            `the changelog ${handover.changelog.topic} says partition ${p} of Kafka topic ${source.topic} was read up to offset ` +
              `${r.offset}, but the partition ends at ${high.get(p) ?? 0} (was the topic deleted and made again?). Delete ` +
              `${handover.changelog.topic} (the group's state starts from zero), or use another consumer group`,
          );
        }
        const start = Math.max(first, c, r.offset ?? 0);
        keys += r.keys;
        starts.push(`${p}@${start}`);
        source.start(p, epochs.get(p)!, start);
      }
      this.restoredKeys += keys;
      log?.(
        `partitions ${added.join(',')} of ${source.topic} assigned: ${keys} key${keys === 1 ? '' : 's'} restored from ` +
          `${handover.changelog.topic}; reading from ${starts.join(' ')}; owned now: ${list(source.ownedPartitions)}`,
      );
    }
  }

  /** The group's committed offsets and the topic's first and end offsets, read now. */
  private async offsets(): Promise<{ committed: Map<number, number>; low: Map<number, number>; high: Map<number, number> }> {
    const { source, handover } = this.options;
    try {
      if (!this.admin) {
        const kafka = new Kafka({ clientId: 'sluice-assignment', brokers: handover!.brokers, logLevel: handover!.logLevel ?? kafkaLogLevel.NOTHING, ...handover!.kafka });
        this.admin = kafka.admin();
        await this.admin.connect();
      }
      const [c, t] = await Promise.all([
        this.admin.fetchOffsets({ groupId: source.groupId, topics: [source.topic] }),
        this.admin.fetchTopicOffsets(source.topic),
      ]);
      return {
        committed: new Map((c[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)])),
        low: new Map(t.map((o) => [o.partition, Number(o.low)])),
        high: new Map(t.map((o) => [o.partition, Number(o.high)])),
      };
    } catch (cause) {
      throw new SluiceError('ERR_KAFKA', `cannot read the committed offsets of group ${source.groupId} on ${source.topic}: ${(cause as Error).message}`, {
        cause,
        retriable: true,
      });
    }
  }

  async close(): Promise<void> {
    await this.admin?.disconnect().catch(() => {});
  }
}

function list(partitions: number[]): string {
  return partitions.length === 0 ? 'none' : partitions.join(',');
}
