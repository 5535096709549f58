// Creating a Kafka topic and waiting until every partition has a leader that answers for it.
//
// kafkajs's createTopics({ waitForLeaders: true }) retries only LEADER_NOT_AVAILABLE, but a busy KRaft
// broker first answers UNKNOWN_TOPIC_OR_PARTITION ("This server does not host this topic-partition")
// for a topic it has just created; both mean: not yet. So the topic is created without kafkajs's wait
// and polled here until every partition has a leader in the metadata and that leader answers for it
// (right after a broker starts, metadata can name a leader that does not host the partition yet).

import type { Admin, ITopicConfig } from 'kafkajs';

const WAIT_MS = 60_000;
const POLL_MS = 200;

/**
 * Creates `config.topic` (an existing one is left as it is: another process may make it first) and
 * resolves once every one of its partitions has a leader; throws naming the topic after 60 s.
 */
export async function createTopicAndWait(admin: Admin, config: ITopicConfig): Promise<void> {
  try {
    await admin.createTopics({ topics: [config], waitForLeaders: false });
  } catch (cause) {
    if ((cause as { type?: string }).type !== 'TOPIC_ALREADY_EXISTS') throw cause;
  }
  await waitForLeaders(admin, config.topic, config.numPartitions);
}

/** Resolves once each partition of `topic` (`partitions` of them, when given) has a leader that answers a ListOffsets for it. */
export async function waitForLeaders(admin: Admin, topic: string, partitions?: number): Promise<void> {
  let last: unknown;
  for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline; await new Promise((r) => setTimeout(r, POLL_MS))) {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      const parts = topics[0]?.partitions ?? [];
      const count = partitions === undefined || partitions < 0 ? parts.length : partitions;
      if (count > 0 && parts.length === count && parts.every((p) => p.leader >= 0) && (await admin.fetchTopicOffsets(topic)).length === count) return;
    } catch (err) {
      last = err;
    }
  }
  throw new Error(`Kafka topic ${topic} has no leader for every partition after ${WAIT_MS / 1000} s${last ? `: ${(last as Error).message}` : ''}`);
}
