// KafkaSource on the real broker, read directly: a bounded read of an ephemeral group leaves the group as
// soon as it has fetched everything (the caller is still aggregating), a named group's member stays until
// close() so the caller can commit, and both hand over every message exactly once.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Admin, type Kafka } from 'kafkajs';
import { createTopic, describeKafka, eventually, groupOffsets, kafkaClient, keyedCsvMessages, produceMessages, requireKafkaBootstrap, uniqueName } from '../helpers/kafka.js';
import { KafkaSource } from '../../src/sources/kafka.js';

describeKafka('KafkaSource (real broker)', () => {
  let kafka: Kafka;
  let admin: Admin;
  let bootstrap: string;

  beforeAll(async () => {
    bootstrap = requireKafkaBootstrap();
    kafka = kafkaClient('sluice-source-test');
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.disconnect();
  });

  /** Members of `group` now, as the coordinator sees them. */
  const members = async (group: string): Promise<number> => (await admin.describeGroups([group])).groups[0]!.members.length;

  /** [partition, end offset] of `topic`, by partition. */
  const endOffsets = async (topic: string): Promise<Array<[number, number]>> =>
    (await admin.fetchTopicOffsets(topic)).map((o): [number, number] => [o.partition, Number(o.high)]).sort((a, b) => a[0] - b[0]);

  /** Reads a bounded source to its end as the aggregate job does; returns the messages and the offsets each chunk moved. */
  const readToEnd = async (source: KafkaSource): Promise<{ messages: number; offsets: Map<number, string> }> => {
    await source.open();
    let messages = 0;
    const offsets = new Map<number, string>();
    for (;;) {
      for (const p of source.takeChanges()) {
        const epoch = source.epochOf(p);
        if (epoch !== undefined) source.start(p, epoch);
      }
      const chunk = await source.poll();
      if (!chunk) break;
      messages += chunk.messages;
      for (const o of chunk.offsets) offsets.set(o.partition, o.offset);
      chunk.release();
    }
    return { messages, offsets };
  };

  it('bounded, ephemeral group: every message once, and the consumer leaves its group before close()', async () => {
    const topic = await createTopic(admin, 'source-ephemeral', 3);
    await produceMessages(kafka, topic, keyedCsvMessages(3000, 50).messages);
    const source = new KafkaSource({ brokers: [bootstrap], topic, format: 'csv' });
    try {
      const { messages, offsets } = await readToEnd(source);
      expect(messages).toBe(3000);
      expect([...offsets].sort((a, b) => a[0] - b[0])).toEqual((await endOffsets(topic)).map(([p, o]) => [p, String(o)]));
      // the member is gone while the caller still holds the source open (without the early leave it
      // stays until close(), and a killed one until its 30 s session times out)
      expect(await eventually(async () => (await members(source.groupId)) === 0, 15_000)).toBe(true);
      expect(await source.commit([...offsets].map(([partition, offset]) => ({ partition, offset })))).toBe(true); // nothing to commit
    } finally {
      await source.close();
    }
  });

  it('bounded, named group: the member stays until close(), so the offsets read can be committed', async () => {
    const topic = await createTopic(admin, 'source-named', 3);
    await produceMessages(kafka, topic, keyedCsvMessages(3000, 50).messages);
    const group = uniqueName('source-group');
    const source = new KafkaSource({ brokers: [bootstrap], topic, groupId: group, format: 'csv' });
    try {
      const { messages, offsets } = await readToEnd(source);
      expect(messages).toBe(3000);
      expect(await members(group)).toBe(1);
      expect(await source.commit([...offsets].map(([partition, offset]) => ({ partition, offset })))).toBe(true);
    } finally {
      await source.close();
    }
    expect([...(await groupOffsets(admin, group, topic))].sort((a, b) => a[0] - b[0])).toEqual(await endOffsets(topic));
  });
});
