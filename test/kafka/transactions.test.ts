// KafkaTransactions on the real broker, as a job with a local checkpoint uses them: offsets committed for a
// consumer group nobody is a member of, transactions of offsets only back to back, and a new instance of the
// transactional id reading offsets that are final (the killed instance's commit completed or was aborted).

import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Admin, Kafka } from 'kafkajs';
import { createTopic, describeKafka, groupOffsets, kafkaClient, requireKafkaBootstrap, uniqueName } from '../helpers/kafka.js';
import { KafkaTransactions } from '../../src/sinks/kafka-transactions.js';

describeKafka('KafkaTransactions (real broker)', () => {
  let kafka: Kafka;
  let admin: Admin;

  beforeAll(async () => {
    kafka = kafkaClient('sluice-transactions-test');
    admin = kafka.admin();
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.disconnect();
  });

  it('commits offsets for a group with no members, transaction after transaction; a new instance of the id reads them final', async () => {
    const topic = await createTopic(admin, 'txn-offsets', 2);
    const group = uniqueName('txn-group');
    const transactions = (): KafkaTransactions => new KafkaTransactions({ brokers: [requireKafkaBootstrap()], topic, groupId: group });
    let current = transactions();
    await current.fence([]);
    try {
      for (let i = 1; i <= 12; i++) {
        // offsets only, right after the previous commit: the coordinator may still be completing that one
        await current.commit('all', [], { partitions: [{ partition: 0, offset: String(i) }, { partition: 1, offset: String(2 * i) }] });
        if (i % 3 !== 0) continue;
        // a restart: initialising the id waits for the commit to complete, so the offsets read next are final
        const next = transactions();
        await next.fence([]);
        expect(await groupOffsets(admin, group, topic)).toEqual(new Map([[0, i], [1, 2 * i]]));
        await current.close();
        current = next;
      }
      const d = await admin.describeGroups([group]);
      expect(d.groups[0]!.members).toHaveLength(0);
    } finally {
      await current.close();
    }
  }, 60_000);
});
