// Suite 3's baseline: a raw kafkajs consumer that reads a topic from the beginning to the end offsets
// seen at start through eachBatch and does nothing with the messages but count them. The count goes
// to the output file, so the suite can check that every message was read.
//
//   node dist-bench/kafka-raw.js HOST:PORT TOPIC OUT
//
// Consumer settings are the ones sluice's Kafka source uses (src/sources/kafka.ts): a fresh group that
// commits nothing, maxWaitTimeInMs 250, one partition at a time, kafkajs's default fetch sizes.

import { writeFileSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';

const [bootstrap, topic, out] = process.argv.slice(2);
if (!bootstrap || !topic || !out) {
  process.stderr.write('usage: kafka-raw.js HOST:PORT TOPIC OUT\n');
  process.exit(2);
}

const kafka = new Kafka({ clientId: 'sluice-bench-raw', brokers: [bootstrap], logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
const offsets = await admin.fetchTopicOffsets(topic);
await admin.disconnect();
const end = new Map(offsets.map((o) => [o.partition, Number(o.high)]));
const pending = new Set(offsets.filter((o) => Number(o.high) > Number(o.low)).map((o) => o.partition));

let messages = 0;
let finish: () => void = () => {};
const finished = new Promise<void>((resolve) => (finish = resolve));
if (pending.size === 0) finish();

const consumer = kafka.consumer({ groupId: `sluice-bench-raw-${process.pid}-${Date.now().toString(36)}`, maxWaitTimeInMs: 250 });
await consumer.connect();
await consumer.subscribe({ topics: [topic], fromBeginning: true });
await consumer.run({
  autoCommit: false,
  partitionsConsumedConcurrently: 1,
  eachBatch: async ({ batch, pause }) => {
    messages += batch.messages.length;
    if (Number(batch.lastOffset()) + 1 >= end.get(batch.partition)!) {
      pause();
      pending.delete(batch.partition);
      if (pending.size === 0) finish();
    }
  },
});
await finished;
await consumer.disconnect();
writeFileSync(out, `${messages}\n`);
