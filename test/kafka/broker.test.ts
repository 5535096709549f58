// The local broker (scripts/kafka.mjs) with the client sluice uses (kafkajs): keyed produce and
// consumer-group consume with exact counts, and transactions with sendOffsets under read_committed.
// The transactional test is the one that shows the pinned broker version works with kafkajs.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { Partitioners, type Admin, type Consumer, type Kafka, type Producer } from 'kafkajs';
import { describeKafka, kafkaClient, uniqueName } from '../helpers/kafka.js';
import { createTopicAndWait, waitForLeaders } from '../../src/sources/kafka-topics.js';

describeKafka('kafka broker (real, local)', () => {
  let kafka: Kafka;
  let admin: Admin;
  const cleanup: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    kafka = kafkaClient('sluice-broker-test');
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    for (const f of cleanup.reverse()) await f().catch(() => {});
    await admin?.disconnect();
  });

  const producer = async (opts: Parameters<Kafka['producer']>[0] = {}): Promise<Producer> => {
    const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, ...opts });
    await p.connect();
    cleanup.push(() => p.disconnect());
    return p;
  };
  const consumer = async (opts: Parameters<Kafka['consumer']>[0]): Promise<Consumer> => {
    const c = kafka.consumer({ heartbeatInterval: 1000, sessionTimeout: 10_000, maxWaitTimeInMs: 250, ...opts });
    await c.connect();
    cleanup.push(() => c.disconnect());
    return c;
  };

  /**
   * The group's committed offset of partition 0 of `topic`, once it equals `expected`. Offsets sent
   * in a transaction become visible only after the coordinator has written the commit marker, a
   * moment after commit() returns, so poll.
   */
  const groupOffset = async (groupId: string, topic: string, expected: string, waitMs = 15_000): Promise<string> => {
    const deadline = Date.now() + waitMs;
    let last = '';
    for (;;) {
      const offsets = await admin.fetchOffsets({ groupId, topics: [topic] });
      last = offsets[0]?.partitions.find((p) => p.partition === 0)?.offset ?? '';
      if (last === expected || Date.now() > deadline) return last;
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('describes a one-node KRaft cluster', async () => {
    const c = await admin.describeCluster();
    expect(c.brokers).toHaveLength(1);
    expect(c.controller).toBe(c.brokers[0]!.nodeId);
  });

  it('10k keyed messages over 6 partitions come back exactly once through a consumer group', async () => {
    const topic = uniqueName('keyed');
    const N = 10_000;
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: false })).toBe(true);
    await waitForLeaders(admin, topic, 6);

    const p = await producer({ idempotent: true, maxInFlightRequests: 5 });
    const CHUNK = 1000;
    for (let i = 0; i < N; i += CHUNK) {
      const messages = [];
      for (let j = i; j < Math.min(N, i + CHUNK); j++) messages.push({ key: `k${j}`, value: `v${j}` });
      await p.send({ topic, acks: -1, messages });
    }

    const ends = await admin.fetchTopicOffsets(topic);
    expect(ends).toHaveLength(6);
    expect(ends.reduce((s, o) => s + Number(o.high), 0)).toBe(N);
    // The default partitioner spreads the keys over every partition.
    for (const o of ends) expect(Number(o.high)).toBeGreaterThan(N / 6 / 2);

    const groupId = uniqueName('keyed-group');
    const c = await consumer({ groupId });
    await c.subscribe({ topic, fromBeginning: true });
    const seen = new Map<string, number>();
    let total = 0;
    let badValues = 0;
    let movedKeys = 0;
    const partitionOfKey = new Map<string, number>();
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    await c.run({
      eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
        for (const m of batch.messages) {
          const k = m.key!.toString();
          const v = m.value!.toString();
          if (v !== `v${k.slice(1)}`) badValues++;
          seen.set(k, (seen.get(k) ?? 0) + 1);
          const prev = partitionOfKey.get(k);
          if (prev !== undefined && prev !== batch.partition) movedKeys++;
          partitionOfKey.set(k, batch.partition);
          total++;
          resolveOffset(m.offset);
        }
        await heartbeat();
        if (total >= N) resolveDone();
      },
    });
    await done;
    // Give any duplicate a moment to show up before counting.
    await new Promise((r) => setTimeout(r, 1000));
    await c.stop();
    expect(total).toBe(N);
    expect(seen.size).toBe(N);
    expect([...seen.values()].filter((n) => n !== 1)).toEqual([]);
    expect(badValues).toBe(0);
    expect(movedKeys).toBe(0);

    // The group's committed offsets reached the end of every partition.
    await c.disconnect();
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const byPartition = new Map(ends.map((o) => [o.partition, o.high]));
    for (const t of committed) {
      for (const po of t.partitions) expect(po.offset).toBe(byPartition.get(po.partition));
    }
  });

  it('a second consumer joining the group mid-stream takes over part of the partitions; every message is read', async () => {
    const topic = uniqueName('rebalance');
    const groupId = uniqueName('rebalance-group');
    const N = 3000;
    await createTopicAndWait(admin, { topic, numPartitions: 6 });
    const p = await producer({ idempotent: true });
    await p.send({ topic, messages: Array.from({ length: N }, (_, i) => ({ key: `k${i}`, value: `v${i}` })) });

    const seen = new Set<string>();
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    const assignments = new Map<string, number[]>(); // member -> partitions after its last join
    const start = async (name: string): Promise<Consumer> => {
      // Small fetches and a pause per batch keep the first consumer busy until the second joins.
      const c = await consumer({ groupId, maxBytesPerPartition: 2048, minBytes: 1 });
      c.on(c.events.GROUP_JOIN, (e) => assignments.set(name, [...(e.payload.memberAssignment[topic] ?? [])].sort()));
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({
        eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
          for (const m of batch.messages) {
            seen.add(m.key!.toString());
            resolveOffset(m.offset);
          }
          await heartbeat();
          if (seen.size === N) resolveAll();
          await new Promise((r) => setTimeout(r, 25));
        },
      });
      return c;
    };

    const a = await start('a');
    while (seen.size < 300) await new Promise((r) => setTimeout(r, 20));
    expect(seen.size).toBeLessThan(N); // the join below really is mid-stream
    const b = await start('b');
    await all;
    // Once both members have joined the new generation: each holds partitions, together all six,
    // none twice.
    const split = () => {
      const pa = assignments.get('a') ?? [];
      const pb = assignments.get('b') ?? [];
      return { pa, pb, union: [...pa, ...pb].sort() };
    };
    const deadline = Date.now() + 30_000;
    while (split().union.join() !== '0,1,2,3,4,5' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const { pa, pb, union } = split();
    expect(union).toEqual([0, 1, 2, 3, 4, 5]);
    expect(pa.length).toBeGreaterThan(0);
    expect(pb.length).toBeGreaterThan(0);
    expect(seen.size).toBe(N);
    await Promise.all([a.stop(), b.stop()]);
  });

  it('transactions: sendOffsets, one committed and one aborted; read_committed sees exactly the committed', async () => {
    const input = uniqueName('tx-in');
    const output = uniqueName('tx-out');
    const groupId = uniqueName('tx-group');
    await createTopicAndWait(admin, { topic: input, numPartitions: 1 });
    await createTopicAndWait(admin, { topic: output, numPartitions: 3 });

    const p = await producer({
      transactionalId: uniqueName('tx-producer'),
      idempotent: true,
      maxInFlightRequests: 1,
    });

    const batch = (tag: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({ key: `${tag}-${i}`, value: JSON.stringify({ tag, i }) }));

    // 1: committed, with the group's offset on the input moved to 5.
    const t1 = await p.transaction();
    await t1.send({ topic: output, messages: batch('committed', 20) });
    await t1.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: 0, offset: '5' }] }] });
    await t1.commit();

    // 2: aborted, its offsets (8) must not land.
    const t2 = await p.transaction();
    await t2.send({ topic: output, messages: batch('aborted', 15) });
    await t2.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: 0, offset: '8' }] }] });
    await t2.abort();

    // The abort's markers land a moment after abort() returns; the offsets it carried must not.
    await new Promise((r) => setTimeout(r, 500));
    expect(await groupOffset(groupId, input, '8', 1000)).toBe('5');

    // 3: committed again, a sentinel on every partition marks the end for the reader.
    const t3 = await p.transaction();
    const sentinels = [0, 1, 2].map((partition) => ({ key: `end-${partition}`, value: 'end', partition }));
    await t3.send({ topic: output, messages: sentinels });
    await t3.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: 0, offset: '10' }] }] });
    await t3.commit();

    expect(await groupOffset(groupId, input, '10')).toBe('10');

    const readAll = async (readUncommitted: boolean): Promise<string[]> => {
      const c = await consumer({ groupId: uniqueName('tx-reader'), readUncommitted });
      await c.subscribe({ topic: output, fromBeginning: true });
      const keys: string[] = [];
      const ended = new Set<number>();
      let resolveDone!: () => void;
      const done = new Promise<void>((r) => (resolveDone = r));
      await c.run({
        eachMessage: async ({ message, partition }) => {
          const k = message.key!.toString();
          if (k.startsWith('end-')) ended.add(partition);
          else keys.push(k);
          if (ended.size === 3) resolveDone();
        },
      });
      await done;
      await c.stop();
      await c.disconnect();
      return keys.sort();
    };

    const committedKeys = [...batch('committed', 20)].map((m) => m.key).sort();
    const abortedKeys = [...batch('aborted', 15)].map((m) => m.key);
    expect(await readAll(false)).toEqual(committedKeys);
    // Control: read_uncommitted does see the aborted records, so the isolation above is real.
    expect(await readAll(true)).toEqual([...committedKeys, ...abortedKeys].sort());
  });

  it('transactions: a restarted producer with the same transactional id fences the old one and aborts its open transaction', async () => {
    const input = uniqueName('fence-in');
    const output = uniqueName('fence-out');
    const groupId = uniqueName('fence-group');
    const transactionalId = uniqueName('fence-producer');
    await createTopicAndWait(admin, { topic: input, numPartitions: 1 });
    await createTopicAndWait(admin, { topic: output, numPartitions: 1 });
    const txProducer = () => producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });

    // The "crashed" producer: a transaction left open, never committed nor aborted.
    const old = await txProducer();
    const open = await old.transaction();
    await open.send({ topic: output, messages: [{ key: 'zombie', value: 'zombie' }] });
    await open.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: 0, offset: '3' }] }] });

    // Its replacement (same transactional id) takes over: the open transaction is aborted.
    const fresh = await txProducer();
    const t = await fresh.transaction();
    await t.send({ topic: output, messages: [{ key: 'fresh', value: 'fresh' }] });
    await t.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: input, partitions: [{ partition: 0, offset: '7' }] }] });
    await t.commit();

    // The zombie can no longer commit.
    await expect(open.commit()).rejects.toThrow();

    expect(await groupOffset(groupId, input, '7')).toBe('7');

    const c = await consumer({ groupId: uniqueName('fence-reader') });
    await c.subscribe({ topic: output, fromBeginning: true });
    const keys: string[] = [];
    let resolveDone!: () => void;
    const done = new Promise<void>((r) => (resolveDone = r));
    await c.run({
      eachMessage: async ({ message }) => {
        keys.push(message.key!.toString());
        if (message.key!.toString() === 'fresh') resolveDone();
      },
    });
    await done;
    await c.stop();
    expect(keys).toEqual(['fresh']);
  });
});
