// Transactions of a Kafka job, and the fencing that makes a partition's writes stop when it changes hands.
//
// kafkajs has no KIP-447: sendOffsets (TxnOffsetCommit) carries no consumer-group generation, so the group
// cannot fence a member that lost its partitions. Fencing comes from transactional ids instead (Kafka
// Streams' exactly-once before KIP-447 did the same with one producer per task):
//
//   sluice:<topic>:<p>:<group>    one id per input partition p: the batches of a member that owns only
//                                 some partitions commit one transaction per partition
//   sluice:<topic>:all:<group>    one id for a member that owns every partition: one transaction per batch
//
// A member that starts to own partitions first initialises (InitProducerId) the id of each of them and the
// `all` id. That bumps their epochs: the broker aborts a transaction the previous owner left open and
// refuses the previous owner's later writes and commits (INVALID_PRODUCER_EPOCH), so whatever a member
// restores afterwards (its changelog, the committed offsets) can no longer change under it. Topic names
// hold no ':', so the ids of different topics and groups never collide.

import { Kafka, Partitioners, logLevel as kafkaLogLevel, type KafkaConfig, type Producer, type TopicMessages } from 'kafkajs';
import { ProducerFencedError, SluiceError, kafkaError } from '../errors.js';
import { splitForSend } from './kafka.js';

/** A transaction's scope: one input partition, or every partition. */
export type TransactionScope = number | 'all';

export interface KafkaTransactionsOptions {
  brokers: string[];
  /** The input topic and the consumer group the ids are derived from. */
  topic: string;
  groupId: string;
  clientId?: string;
  logLevel?: kafkaLogLevel;
  kafka?: Partial<KafkaConfig>;
}

/** Offsets a transaction commits for the consumer group. */
export interface TransactionOffsets {
  partitions: Array<{ partition: number; offset: string }>;
}

/** The transactional id of a scope (see the header comment). */
export function transactionalIdFor(topic: string, groupId: string, scope: TransactionScope): string {
  return `sluice:${topic}:${scope}:${groupId}`;
}

/** Protocol errors of a producer whose epoch is over: another instance initialised its transactional id. */
const FENCED = new Set(['INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);
/** PRODUCER_FENCED (Kafka 2.7+), which kafkajs 2.2.4 does not know by name. */
const PRODUCER_FENCED_CODE = 90;

export function isFenced(err: unknown): boolean {
  for (let e = err as { type?: string; code?: number; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (e instanceof ProducerFencedError) return true;
    if ((e.type && FENCED.has(e.type)) || e.code === PRODUCER_FENCED_CODE || /Unknown error code 90\b/.test(String((e as Error).message))) {
      return true;
    }
  }
  return false;
}

/**
 * Runs `step` again while the coordinator answers CONCURRENT_TRANSACTIONS: EndTxn returns once the commit is
 * decided, and the coordinator finishes it (writes the markers) a moment later, refusing meanwhile to add
 * offsets to the id's next transaction. kafkajs retries that for the produce requests of a transaction,
 * not for AddOffsetsToTxn, so a transaction that starts with its offsets would fail right after a commit.
 */
async function whileConcurrent(step: () => Promise<void>): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await step();
    } catch (err) {
      if ((err as { type?: string }).type !== 'CONCURRENT_TRANSACTIONS' || attempt >= 40) throw err;
      await new Promise((r) => setTimeout(r, Math.min(20 * (attempt + 1), 250)));
    }
  }
}

export class KafkaTransactions {
  private readonly options: KafkaTransactionsOptions;
  private readonly kafka: Kafka;
  private readonly producers = new Map<TransactionScope, Producer>();

  constructor(options: KafkaTransactionsOptions) {
    this.options = options;
    this.kafka = new Kafka({
      clientId: options.clientId ?? 'sluice',
      brokers: options.brokers,
      logLevel: options.logLevel ?? kafkaLogLevel.NOTHING,
      ...options.kafka,
    });
  }

  /**
   * Initialises the transactional ids of `partitions` and of `all` with fresh producers: every earlier
   * instance of them (the previous owner's, or this member's own) is fenced, and their open transactions
   * are aborted before this resolves.
   */
  async fence(partitions: readonly number[]): Promise<void> {
    const scopes: TransactionScope[] = ['all', ...partitions];
    await Promise.all(scopes.map((s) => this.drop(s)));
    await Promise.all(scopes.map((s) => this.open(s)));
  }

  private async open(scope: TransactionScope): Promise<void> {
    const transactionalId = transactionalIdFor(this.options.topic, this.options.groupId, scope);
    const producer = this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionalId,
    });
    try {
      await producer.connect();
      // kafkajs initialises the transactional id (InitProducerId) with the first transaction; an empty
      // one sends nothing else and ends locally.
      const tx = await producer.transaction();
      await tx.abort();
    } catch (cause) {
      await producer.disconnect().catch(() => {});
      throw kafkaError(`cannot initialise the transactional id ${transactionalId}`, cause);
    }
    this.producers.set(scope, producer);
  }

  /** Closes the producer of a scope (its partition was revoked: its id belongs to the next owner now). */
  async drop(scope: TransactionScope): Promise<void> {
    const p = this.producers.get(scope);
    if (!p) return;
    this.producers.delete(scope);
    await p.disconnect().catch(() => {});
  }

  /**
   * One transaction in `scope`: every message of `topicMessages`, and the group's `offsets` when given,
   * committed before this resolves. Throws ProducerFencedError when the scope's id was initialised by
   * another instance (nothing of the transaction is visible then); any other failure aborts it too.
   */
  async commit(scope: TransactionScope, topicMessages: TopicMessages[], offsets?: TransactionOffsets, beforeCommit?: () => void | Promise<void>): Promise<void> {
    const producer = this.producers.get(scope);
    const transactionalId = transactionalIdFor(this.options.topic, this.options.groupId, scope);
    if (!producer) throw new ProducerFencedError(transactionalId, scope, 'this member holds no producer for it');
    let tx: Awaited<ReturnType<Producer['transaction']>> | undefined;
    try {
      tx = await producer.transaction();
      for (const part of splitForSend(topicMessages.filter((t) => t.messages.length > 0))) {
        await tx.sendBatch({ topicMessages: part, acks: -1 });
      }
      if (offsets && offsets.partitions.length > 0) {
        const send = tx.sendOffsets.bind(tx, { consumerGroupId: this.options.groupId, topics: [{ topic: this.options.topic, partitions: offsets.partitions }] });
        await whileConcurrent(send);
      }
      await beforeCommit?.();
      await tx.commit();
    } catch (cause) {
      if (tx && tx.isActive()) await tx.abort().catch(() => {});
      if (isFenced(cause)) {
        await this.drop(scope);
        throw new ProducerFencedError(transactionalId, scope, (cause as Error).message, cause);
      }
      if (cause instanceof SluiceError) throw cause;
      throw kafkaError(`the transaction ${transactionalId} failed (nothing of this batch was committed)`, cause);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.producers.keys()].map((s) => this.drop(s)));
  }
}
