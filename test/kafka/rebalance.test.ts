// Two `sluice aggregate --follow` processes in one consumer group on the real broker: a second member
// joins mid-job, then the first leaves, while records keep coming. The last output value of every key
// must equal the true total (nothing lost, nothing counted twice), through the changelog handover.

import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Admin, type Kafka } from 'kafkajs';
import {
  createTopic, describeKafka, eventually, kafkaClient, keyedCsvMessages, produceMessages, readTopicMessages, requireKafkaBootstrap, uniqueName,
  type KeyStats, type ReadMessage,
} from '../helpers/kafka.js';
import { startCli } from '../helpers/cli.js';
import { runKafkaAggregate } from '../../src/cli/kafka-aggregate.js';
import { parseAggregateSpec } from '../../src/plan/aggregate-spec.js';
import { CoPartitionError } from '../../src/errors.js';
import { changelogTopicFor } from '../../src/state/changelog.js';
import { transactionalIdFor } from '../../src/sinks/kafka-transactions.js';

describeKafka('a consumer group of sluice members sharing partitions (real broker)', () => {
  let kafka: Kafka;
  let admin: Admin;
  let bootstrap: string;

  beforeAll(async () => {
    bootstrap = requireKafkaBootstrap();
    kafka = kafkaClient('sluice-rebalance-test');
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.disconnect();
  });

  const topicOf = (prefix: string, partitions: number): Promise<string> => createTopic(admin, prefix, partitions);

  /** Whether the group's committed offsets reached the topic's end offsets. */
  const caughtUp = async (group: string, topic: string): Promise<boolean> => {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })]);
    const byPartition = new Map(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
    return ends.every((e) => byPartition.get(e.partition) === e.high);
  };
  const committedTotal = async (group: string, topic: string): Promise<number> => {
    const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    return committed[0]!.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  };

  const lastValues = (messages: ReadMessage[]): Map<string, { count: number; sum: number }> =>
    new Map(messages.map((m) => [m.key, JSON.parse(m.value) as { count: number; sum: number }]));

  for (const exactlyOnce of [true, false]) {
    it(`${exactlyOnce ? '--exactly-once' : 'at least once'}: a member joins mid-job and the first one leaves; the last output of every key is its exact total`, async () => {
      const input = await topicOf('rb-in', 6);
      const output = await topicOf('rb-out', 3);
      const group = uniqueName('rb-group');
      const ref = new Map<string, KeyStats>();
      const phase = (n: number, seed: number) => keyedCsvMessages(n, 400, seed, ref).messages;
      const args = [
        'aggregate', '--input', `kafka://${bootstrap}/${input}?group=${group}`, '--key', '0', '--value', '1', '--agg', 'count,sum',
        '--out', `kafka://${bootstrap}/${output}`, '--follow', '--workers', '1', ...(exactlyOnce ? ['--exactly-once'] : []),
      ];

      await produceMessages(kafka, input, phase(20_000, 1));
      const a = startCli(args);
      let b: ReturnType<typeof startCli> | undefined;
      try {
        expect(await a.waitFor(/partitions 0,1,2,3,4,5 of \S+ assigned: 0 keys restored/, 60_000), a.stderr()).toBe(true);
        expect(await eventually(async () => (await committedTotal(group, input)) > 0, 60_000)).toBe(true);

        // B joins while A runs and records keep coming: the partitions are split, B restores its share.
        b = startCli(args);
        const producing = produceMessages(kafka, input, phase(20_000, 2));
        expect(await b.waitFor(/partitions [\d,]+ of \S+ assigned: [1-9]\d* keys restored/, 60_000), b.stderr()).toBe(true);
        expect(await a.waitFor(/went to another member/, 60_000), a.stderr()).toBe(true);
        await producing;
        await produceMessages(kafka, input, phase(10_000, 3));

        // A leaves: B takes every partition back, restoring A's share from the changelog.
        expect(await a.stop()).toBe(0);
        expect(await b.waitFor(/assigned: [1-9]\d* keys restored .*owned now: 0,1,2,3,4,5/, 60_000), b.stderr()).toBe(true);
        await produceMessages(kafka, input, phase(10_000, 4));
        expect(await eventually(() => caughtUp(group, input), 90_000)).toBe(true);
        expect(await b.stop()).toBe(0);
      } finally {
        await a.stop('SIGKILL');
        await b?.stop('SIGKILL');
      }
      expect(a.stderr()).not.toMatch(/error|Error/);
      expect(b!.stderr()).not.toMatch(/error|Error/);

      const read = await readTopicMessages(kafka, admin, output);
      const last = lastValues(read);
      expect(last.size).toBe(ref.size);
      for (const [k, s] of ref) expect(last.get(k), k).toEqual({ count: s.count, sum: s.sum });
      if (exactlyOnce) {
        // read_committed: each key's running count only grows (no batch seen twice, none lost then redone)
        const prev = new Map<string, number>();
        for (const m of [...read].sort((x, y) => x.partition - y.partition || Number(x.offset) - Number(y.offset))) {
          const c = (JSON.parse(m.value) as { count: number }).count;
          expect(c, m.key).toBeGreaterThan(prev.get(m.key) ?? 0);
          prev.set(m.key, c);
        }
      }
      // the changelog holds the same state, one marker per partition at the end offsets
      const changelog = changelogTopicFor(input, group);
      expect((await admin.fetchTopicOffsets(changelog)).length).toBe(6);
    }, 240_000);
  }

  it('a restarted --follow job restores its totals from the changelog and goes on from them', async () => {
    const input = await topicOf('rb-restart', 3);
    const output = await topicOf('rb-restart-out', 1);
    const group = uniqueName('rb-restart-group');
    const ref = new Map<string, KeyStats>();
    const spec = parseAggregateSpec({
      input: `kafka://${bootstrap}/${input}?group=${group}`, key: '0', value: '1', agg: 'count,sum', out: `kafka://${bootstrap}/${output}`,
      follow: true, workers: 0,
    });
    const runUntilCaughtUp = async (): Promise<number> => {
      const ac = new AbortController();
      const job = runKafkaAggregate(spec, { signal: ac.signal, pollMs: 100 });
      job.catch(() => {});
      const ok = await eventually(() => caughtUp(group, input), 60_000);
      ac.abort();
      const res = await job;
      expect(ok).toBe(true);
      return res.restoredKeys;
    };
    await produceMessages(kafka, input, keyedCsvMessages(6000, 50, 7, ref).messages);
    expect(await runUntilCaughtUp()).toBe(0);
    await produceMessages(kafka, input, keyedCsvMessages(4000, 80, 8, ref).messages);
    expect(await runUntilCaughtUp()).toBe(50);
    const last = lastValues(await readTopicMessages(kafka, admin, output));
    expect(last.size).toBe(ref.size);
    for (const [k, s] of ref) expect(last.get(k), k).toEqual({ count: s.count, sum: s.sum });
  }, 120_000);

  it('a member whose transactional id is fenced under it restores its partitions from the changelog and stays exact', async () => {
    const input = await topicOf('rb-fence', 2);
    const output = await topicOf('rb-fence-out', 1);
    const group = uniqueName('rb-fence-group');
    const ref = new Map<string, KeyStats>();
    await produceMessages(kafka, input, keyedCsvMessages(3000, 40, 11, ref).messages);
    const spec = parseAggregateSpec({
      input: `kafka://${bootstrap}/${input}?group=${group}`, key: '0', value: '1', agg: 'count,sum', out: `kafka://${bootstrap}/${output}`,
      follow: true, exactlyOnce: true, workers: 0,
    });
    const ac = new AbortController();
    const lines: string[] = [];
    const job = runKafkaAggregate(spec, { signal: ac.signal, pollMs: 100, log: (l) => lines.push(l) });
    job.catch(() => {});
    expect(await eventually(() => caughtUp(group, input), 60_000)).toBe(true);
    // another instance initialises the id the member (owning both partitions) writes its batches under
    const intruder = kafka.producer({ transactionalId: transactionalIdFor(input, group, 'all'), idempotent: true, maxInFlightRequests: 1 });
    await intruder.connect();
    await (await intruder.transaction()).abort();
    await intruder.disconnect();
    await produceMessages(kafka, input, keyedCsvMessages(3000, 40, 12, ref).messages);
    expect(await eventually(() => caughtUp(group, input), 60_000)).toBe(true);
    ac.abort();
    await job;
    expect(lines.filter((l) => / assigned: /.test(l))).toHaveLength(2); // at the start, and again after the fencing
    expect(lines[1]).toMatch(/^partitions 0,1 of \S+ assigned: 40 keys restored/);
    const read = await readTopicMessages(kafka, admin, output);
    const last = lastValues(read);
    for (const [k, st] of ref) expect(last.get(k), k).toEqual({ count: st.count, sum: st.sum });
    const prev = new Map<string, number>();
    for (const m of read) {
      const c = (JSON.parse(m.value) as { count: number }).count;
      expect(c, m.key).toBeGreaterThan(prev.get(m.key) ?? 0);
      prev.set(m.key, c);
    }
  }, 120_000);

  it('a job whose state means something else is refused the group\'s changelog, saying what differs', async () => {
    const input = await topicOf('rb-other', 2);
    const output = await topicOf('rb-other-out', 1);
    const group = uniqueName('rb-other-group');
    await produceMessages(kafka, input, keyedCsvMessages(500, 20, 9).messages);
    const spec = (agg: string) =>
      parseAggregateSpec({
        input: `kafka://${bootstrap}/${input}?group=${group}`, key: '0', value: '1', agg, out: `kafka://${bootstrap}/${output}`, follow: true, workers: 0,
      });
    const ac = new AbortController();
    const first = runKafkaAggregate(spec('count'), { signal: ac.signal, pollMs: 100 });
    first.catch(() => {});
    expect(await eventually(() => caughtUp(group, input), 60_000)).toBe(true);
    ac.abort();
    await first;
    const err = (await runKafkaAggregate(spec('max')).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(
      `the changelog topic ${changelogTopicFor(input, group)} holds the state of another job ` +
        '({"format":"csv","key":0,"value":1,"acc":["count"]}); this one is {"format":"csv","key":0,"value":1,"acc":["max"]}. ' +
        `Use another consumer group for this job, or delete ${changelogTopicFor(input, group)} to start the group's state from zero`,
    );
  }, 120_000);

  it('two members on a topic not keyed by the grouping key: the member owning part of it fails naming the record', async () => {
    const input = await topicOf('rb-mixed', 2);
    const output = await topicOf('rb-mixed-out', 1);
    const group = uniqueName('rb-mixed-group');
    // keyed by a user id, grouped by page: the pages of a partition are not that partition's keys
    const messages = Array.from({ length: 4000 }, (_, i) => ({ key: `user${i}`, value: `/page${i % 7},1` }));
    await produceMessages(kafka, input, messages);
    const spec = parseAggregateSpec({
      input: `kafka://${bootstrap}/${input}?group=${group}`, key: '0', value: '1', agg: 'count', out: `kafka://${bootstrap}/${output}`,
      follow: true, workers: 0,
    });
    const ac = new AbortController();
    const first = runKafkaAggregate(spec, { signal: ac.signal, pollMs: 100 });
    first.catch(() => {});
    // alone, the first member owns both partitions: not being co-partitioned is no problem then
    expect(await eventually(async () => (await committedTotal(group, input)) === 4000, 60_000)).toBe(true);
    let secondOwns = false;
    const second = runKafkaAggregate(spec, { pollMs: 100, log: (l) => void (secondOwns ||= / assigned: /.test(l)) });
    second.catch(() => {});
    // once the partitions are split, more records of the same shape arrive
    expect(await eventually(() => secondOwns, 60_000)).toBe(true);
    await produceMessages(kafka, input, messages);
    const err = await Promise.race([first.then(() => undefined, (e: unknown) => e), second.then(() => undefined, (e: unknown) => e)]);
    ac.abort();
    await Promise.allSettled([first, second]);
    expect(err).toBeInstanceOf(CoPartitionError);
    const e = err as CoPartitionError;
    expect(e.topic).toBe(input);
    expect(e.keyPartition).not.toBe(e.partition);
    expect(e.message).toMatch(new RegExp(`^the record at offset ${e.offset} of partition ${e.partition} of Kafka topic ${input} has a grouping key of partition ${e.keyPartition}`));
    expect(e.message).toMatch(/Run one member in the group, or produce .* keyed by the grouping key/);
  }, 120_000);
});
