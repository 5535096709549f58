// The kill loop for Kafka: `sluice aggregate --follow --exactly-once --checkpoint` from one topic of the real
// broker to another, SIGKILLed at random moments (some inside a checkpoint write, some inside the batch's
// transaction, some around its commit) while the test produces records with known keys, restarted each time,
// then left to catch up. A read_committed reader of the output must see every key's running total only grow,
// never repeat, and end at the exact total. SLUICE_SOAK_KILLS=200 runs a longer soak by hand.

import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Partitioners, type Admin, type Kafka, type Producer } from 'kafkajs';
import { startCli, tempDir } from '../helpers/cli.js';
import { sleep } from '../helpers/batch-outputs.js';
import {
  checkRunningTotals, createTopic, describeKafka, eventually, groupCaughtUp, kafkaClient, readTopicMessages, requireKafkaBootstrap, uniqueName,
} from '../helpers/kafka.js';

const KILLS = Number(process.env.SLUICE_SOAK_KILLS ?? 22);

describeKafka('sluice aggregate --follow --exactly-once --checkpoint on Kafka under kill -9 (real broker)', () => {
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let dir: string;
  let remove: () => void;

  beforeAll(async () => {
    kafka = kafkaClient('sluice-kafka-kill-loop');
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
    ({ dir, remove } = tempDir('sluice-kafka-kill-'));
  });
  afterAll(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
    remove?.();
  });

  it(`loses and doubles nothing over ${KILLS} kills, and a restarted job makes progress within seconds`, async () => {
    let state = Number(process.env.SLUICE_SOAK_SEED ?? 4711); // a small LCG: the same records and kill times every run
    const random = (): number => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const bootstrap = requireKafkaBootstrap();
    const input = await createTopic(admin, 'kill-in', 3);
    const output = await createTopic(admin, 'kill-out', 3);
    const group = uniqueName('kill-group');
    const ckpt = path.join(dir, 'ckpt');
    const expected = new Map<string, { count: number; sum: number }>();

    // The producer: bursts of records of 40 keys, keyed by an unrelated id (the job owns every partition,
    // so the topic need not be partitioned by the grouping key). Each burst also has a key of its own that no
    // other record has: a batch whose outputs were lost would leave it missing from the output for good.
    let producing = true;
    let produced = 0;
    const sender = (async () => {
      let id = 0;
      for (let burst = 0; producing; burst++) {
        const n = 1 + Math.floor(random() * 40);
        const messages = [];
        for (let i = 0; i < n; i++) {
          const key = i === 0 ? `solo-${burst}` : `page-${Math.floor(random() * 40)}`;
          const v = 1 + Math.floor(random() * 9);
          const e = expected.get(key) ?? { count: 0, sum: 0 };
          expected.set(key, { count: e.count + 1, sum: e.sum + v });
          messages.push({ key: `id-${id++}`, value: `${key},${v}` });
        }
        await producer.send({ topic: input, acks: -1, messages });
        produced += n;
        await sleep(10 + random() * 40);
      }
    })();

    const args = (workers: number): string[] => [
      'aggregate', '--input', `kafka://${bootstrap}/${input}?group=${group}`, '--key', '0', '--value', '1', '--agg', 'count,sum',
      '--out', `kafka://${bootstrap}/${output}`, '--follow', '--exactly-once', '--checkpoint', ckpt, '--checkpoint-keep', '2',
      '--workers', String(workers),
    ];
    const kinds = { random: 0, checkpoint: 0, transaction: 0, commit: 0 };
    const firstBatchMs: number[] = [];
    const stderrs: string[] = [];
    try {
      for (let k = 0; k < KILLS; k++) {
        // 0: at a random moment; 1: inside a checkpoint write; 2: inside the transaction (outputs and offsets
        // sent, not committed); 3: around EndTxn (just as the commit is sent, or while it is under way)
        const kind = (['random', 'checkpoint', 'transaction', 'commit'] as const)[k % 4]!;
        const env: Record<string, string> =
          kind === 'checkpoint' ? { SLUICE_TEST_CHECKPOINT_PAUSE_MS: '400' }
            : kind === 'transaction' ? { SLUICE_TEST_COMMIT_PAUSE_MS: '400' }
              : kind === 'commit' ? { SLUICE_TEST_COMMIT_PAUSE_MS: '30' }
                : {};
        const started = Date.now();
        const job = startCli(args(k % 3 === 2 ? 1 : 0), { env });
        if (kind === 'random') {
          await sleep(500 + random() * 3000);
        } else {
          const hit = await job.waitFor(kind === 'checkpoint' ? /sluice-test: checkpoint \d+ paused/ : /sluice-test: batch \d+ commit paused/, 30_000);
          if (hit) {
            kinds[kind]++;
            firstBatchMs.push(Date.now() - started);
            if (kind === 'commit') await sleep(30 + random() * 40);
          }
        }
        const code = await job.stop('SIGKILL');
        stderrs.push(job.stderr());
        expect(code, `run ${k} ended by itself:\n${job.stderr()}`).toBeNull();
        if (kind === 'random') kinds.random++;
      }
    } finally {
      producing = false;
      await sender;
    }

    // Catch up with no more records, then stop with SIGINT: exit 0 after the batch at hand.
    const last = startCli(args(1));
    const caughtUp = await eventually(() => groupCaughtUp(admin, group, input), 120_000, 200);
    expect(await last.stop('SIGINT'), last.stderr()).toBe(0);
    expect(caughtUp, last.stderr()).toBe(true);
    stderrs.push(last.stderr());
    const all = stderrs.join('\n---\n');
    expect(all).not.toMatch(/sluice: (?!restored|checkpoint \d+ in)/); // nothing but the notes of restarts

    // The read_committed output: every key's running total only grows, and ends at the exact total.
    const read = await readTopicMessages(kafka, admin, output);
    const last2 = checkRunningTotals(read);
    expect(new Map([...last2].map(([k, v]) => [k, `${v.count},${v.sum}`]))).toEqual(
      new Map([...expected].map(([k, e]) => [k, `${e.count},${e.sum}`])),
    );

    // The kills landed where they were meant to, and the recovery took both ways.
    expect(kinds.checkpoint).toBeGreaterThanOrEqual(Math.floor(KILLS / 4) - 1);
    expect(kinds.transaction + kinds.commit).toBeGreaterThanOrEqual(Math.floor(KILLS / 2) - 2);
    expect(all).toMatch(/sluice: restored checkpoint of batch \d+/); // transaction N committed: go on from N
    expect(all).toMatch(/its transaction did not commit, so it is discarded/); // it did not: go on from N-1
    expect(produced).toBeGreaterThan(500);
    // Restart to first batch (start, restore, fence, join a group of its own, fetch, fold, checkpoint): seconds,
    // not a session timeout (30 s) of the killed member.
    firstBatchMs.sort((a, b) => a - b);
    console.log(`restart to first batch, ms: median ${firstBatchMs[firstBatchMs.length >> 1]}, max ${firstBatchMs.at(-1)} over ${firstBatchMs.length} restarts`);
    expect(firstBatchMs.at(-1)!).toBeLessThan(20_000);
  }, 900_000);
});
