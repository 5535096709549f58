// Restores of a Kafka job's local checkpoint on the real broker: damaged checkpoints under --exactly-once
// (truncated, flipped, deleted; also behind an aborted batch), committed offsets that fit no checkpoint, the
// refusals (live members in the group, a second job on the directory, another job's checkpoint), at least
// once with dead letters, a bounded job to a file resumed after a kill, and `sluice checkpoint inspect`.

import { readdirSync, readFileSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Partitioners, type Admin, type Kafka, type Message, type Producer } from 'kafkajs';
import { caseDirs, runCli, startCli, type RunningCli } from '../helpers/cli.js';
import {
  checkRunningTotals, createTopic, describeKafka, eventually, groupCaughtUp, kafkaClient, readTopicMessages, requireKafkaBootstrap, uniqueName,
} from '../helpers/kafka.js';
import { batchDirName, inspectCheckpoints } from '../../src/state/checkpoint-store.js';

describeKafka('a Kafka job\'s local checkpoint, restored (real broker)', () => {
  let kafka: Kafka;
  let admin: Admin;
  let producer: Producer;
  let bootstrap: string;
  const dirs = caseDirs('sluice-kafka-ckpt-');

  beforeAll(async () => {
    bootstrap = requireKafkaBootstrap();
    kafka = kafkaClient('sluice-kafka-recovery');
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true });
    await producer.connect();
  });
  afterAll(async () => {
    await producer?.disconnect();
    await admin?.disconnect();
  });

  /** Records `k<i % keys>,<value>` for i in [from, from + n), with the totals they add. */
  const records = (from: number, n: number, keys: number, totals: Map<string, { count: number; sum: number }>): Message[] => {
    const out: Message[] = [];
    for (let i = from; i < from + n; i++) {
      const key = `k${i % keys}`;
      const v = (i % 7) + 1;
      const t = totals.get(key) ?? { count: 0, sum: 0 };
      totals.set(key, { count: t.count + 1, sum: t.sum + v });
      out.push({ key: `m${i}`, value: `${key},${v}` });
    }
    return out;
  };
  const send = (topic: string, messages: Message[]): Promise<unknown> => producer.send({ topic, acks: -1, messages });

  interface Job {
    input: string;
    output: string;
    group: string;
    ckpt: string;
    args: (...extra: string[]) => string[];
  }
  const job = async (prefix: string, o: { exactlyOnce?: boolean; keep?: number; out?: 'kafka' | 'file' } = {}): Promise<Job> => {
    const input = await createTopic(admin, `${prefix}-in`, 2);
    const output = o.out === 'file' ? '' : await createTopic(admin, `${prefix}-out`, 2);
    const group = uniqueName(`${prefix}-group`);
    const ckpt = path.join(dirs.next(), 'ckpt');
    return {
      input, output, group, ckpt,
      args: (...extra) => [
        'aggregate', '--input', `kafka://${bootstrap}/${input}?group=${group}`, '--key', '0', '--value', '1', '--agg', 'count,sum',
        '--checkpoint', ckpt, '--checkpoint-keep', String(o.keep ?? 3), '--workers', '0',
        ...(o.out === 'file' ? [] : ['--out', `kafka://${bootstrap}/${output}`, '--follow']),
        ...(o.exactlyOnce ? ['--exactly-once'] : []),
        ...extra,
      ],
    };
  };

  /** Starts the job and waits until the group has committed the input's end offsets. */
  const untilCaughtUp = async (j: Job, env: Record<string, string> = {}): Promise<RunningCli> => {
    const run = startCli(j.args(), { env });
    const ok = await eventually(() => groupCaughtUp(admin, j.group, j.input), 60_000, 100);
    if (!ok) {
      await run.stop('SIGKILL');
      throw new Error(`the job did not catch up:\n${run.stderr()}`);
    }
    return run;
  };

  const lastTotals = async (topic: string): Promise<Map<string, string>> =>
    new Map([...checkRunningTotals(await readTopicMessages(kafka, admin, topic))].map(([k, v]) => [k, `${v.count},${v.sum}`]));
  const asText = (totals: Map<string, { count: number; sum: number }>): Map<string, string> =>
    new Map([...totals].map(([k, v]) => [k, `${v.count},${v.sum}`]));

  type Damage = { name: string; apply: (batchDir: string) => string; reason: RegExp };
  const shardWithKeys = (d: string): string => readdirSync(d).filter((n) => n.endsWith('.bin')).sort().find((n) => readFileSync(path.join(d, n)).length > 40)!;
  const damages: Damage[] = [
    {
      name: 'a truncated shard file',
      apply: (d) => {
        const f = shardWithKeys(d);
        truncateSync(path.join(d, f), 20);
        return f;
      },
      reason: /\d+ bytes, the manifest says \d+ \(truncated or torn\)/,
    },
    {
      name: 'a flipped byte in the manifest',
      apply: (d) => {
        const file = path.join(d, 'manifest.json');
        const b = readFileSync(file);
        b[b.length >> 1]! ^= 0x01;
        writeFileSync(file, b);
        return 'manifest.json';
      },
      reason: /./,
    },
    {
      name: 'a deleted shard file',
      apply: (d) => {
        const f = shardWithKeys(d);
        unlinkSync(path.join(d, f));
        return f;
      },
      reason: /missing/,
    },
  ];

  it('--exactly-once: a damaged newest checkpoint is skipped, the batches the group committed after the one before are aggregated again without output, and the totals stay exact', async () => {
    const j = await job('dmg', { exactlyOnce: true });
    const totals = new Map<string, { count: number; sum: number }>();
    let next = 0;
    const produce = async (n: number): Promise<void> => {
      await send(j.input, records(next, n, 30, totals));
      next += n;
    };
    await produce(500);
    let run = await untilCaughtUp(j);
    for (const damage of damages) {
      // a second batch, so the checkpoint before the newest is behind the committed offsets
      await produce(300);
      expect(await eventually(() => groupCaughtUp(admin, j.group, j.input), 60_000, 100)).toBe(true);
      expect(await run.stop('SIGKILL')).toBeNull();
      const newest = (await inspectCheckpoints(j.ckpt)).checkpoints[0]!;
      const before = (await inspectCheckpoints(j.ckpt)).checkpoints[1]!;
      const file = damage.apply(newest.path);
      await produce(200);
      run = await untilCaughtUp(j);
      const err = run.stderr();
      const warning = new RegExp(
        `^sluice: warning: skipped damaged checkpoint ${escape(newest.path)}: ${escape(file)}: (.*); restored batch ${before.batch} from ${escape(before.path)}$`, 'm',
      );
      expect(err, damage.name).toMatch(warning);
      expect(warning.exec(err)![1]).toMatch(damage.reason);
      expect(err).toContain(
        `sluice: consumer group ${j.group} committed ${batches(before.batch + 1, newest.batch)} (up to ${offsets(newest)}), whose checkpoints are ` +
          'damaged: their input is aggregated again without output (their outputs are in Kafka already)\n',
      );
    }
    expect(await run.stop('SIGINT')).toBe(0);
    // exactly once still: no running total was written twice (checkRunningTotals), none is missing
    expect(await lastTotals(j.output)).toEqual(asText(totals));
  }, 240_000);

  it('--exactly-once: killed inside a transaction, with the checkpoint before it damaged too: the aborted batch is discarded and the committed one aggregated again', async () => {
    const j = await job('abort', { exactlyOnce: true });
    const totals = new Map<string, { count: number; sum: number }>();
    await send(j.input, records(0, 400, 20, totals));
    let run = await untilCaughtUp(j);
    expect(await run.stop('SIGINT')).toBe(0);
    await send(j.input, records(400, 300, 20, totals));
    run = await untilCaughtUp(j);
    expect(await run.stop('SIGINT')).toBe(0);
    await send(j.input, records(700, 300, 20, totals));
    run = startCli(j.args(), { env: { SLUICE_TEST_COMMIT_PAUSE_MS: '60000' } });
    expect(await run.waitFor(/sluice-test: batch \d+ commit paused/), run.stderr()).toBe(true);
    expect(await run.stop('SIGKILL')).toBeNull();
    const [aborted, committed] = (await inspectCheckpoints(j.ckpt)).checkpoints;
    damages[0]!.apply(committed!.path);
    run = await untilCaughtUp(j);
    expect(await run.stop('SIGINT')).toBe(0);
    const err = run.stderr();
    expect(err).toContain(`sluice: warning: skipped damaged checkpoint ${committed!.path}: `);
    expect(err).toContain(`sluice: checkpoint ${aborted!.batch} in ${j.ckpt} is past the offsets consumer group ${j.group} committed`);
    expect(err).toContain(`its transaction did not commit, so it is discarded and batch ${aborted!.batch} runs again\n`);
    expect(err).toContain(`committed batch ${committed!.batch} (up to ${offsets(committed!)})`);
    expect(await lastTotals(j.output)).toEqual(asText(totals));
  }, 180_000);

  it('--exactly-once: committed offsets that fit no checkpoint (the group was reset) stop the job, naming them and every checkpoint', async () => {
    const j = await job('reset', { exactlyOnce: true });
    await send(j.input, records(0, 300, 10, new Map()));
    let run = await untilCaughtUp(j);
    expect(await run.stop('SIGINT')).toBe(0);
    await send(j.input, records(300, 300, 10, new Map()));
    run = await untilCaughtUp(j);
    expect(await run.stop('SIGINT')).toBe(0);
    await admin.setOffsets({ groupId: j.group, topic: j.input, partitions: [{ partition: 0, offset: '0' }, { partition: 1, offset: '0' }] });
    const r = await runCli(j.args());
    expect(r.code).toBe(1);
    const listed = (await inspectCheckpoints(j.ckpt)).checkpoints.map((c) => `batch ${c.batch}: ${offsets(c)}`).join('; ');
    expect(r.stderr).toBe(
      `sluice: the offsets consumer group ${j.group} committed for Kafka topic ${j.input} (0@0 1@0) match none of the checkpoints in ${j.ckpt} ` +
        `(${listed}), nor the end of a batch recorded after one: something other than this job moved the group's offsets (a reset, another ` +
        'job on the group, offsets expired after offsets.retention.minutes). Commit the offsets of the checkpoint to go on from for the ' +
        `group, or remove ${j.ckpt} to start over at the group's offsets\n`,
    );
  }, 120_000);

  it('refuses a group with live members, a second job on the directory, and a checkpoint of another job', async () => {
    const j = await job('refuse', { exactlyOnce: true });
    await send(j.input, records(0, 50, 5, new Map()));
    // a member of the group, as a --follow job without --checkpoint would be
    const member = kafka.consumer({ groupId: j.group });
    await member.connect();
    await member.subscribe({ topics: [j.input] });
    let joined = false;
    member.on(member.events.GROUP_JOIN, () => void (joined = true));
    await member.run({ eachMessage: async () => {} });
    expect(await eventually(() => joined, 30_000)).toBe(true);
    const live = await runCli(j.args());
    await member.disconnect();
    expect(live.code).toBe(1);
    expect(live.stderr).toBe(
      `sluice: consumer group ${j.group} has 1 live member: a job with --checkpoint keeps the state and the offsets of Kafka topic ${j.input} ` +
        'for the group by itself, and must be its only job. Stop the other members, or use another group\n',
    );

    const first = await untilCaughtUp(j);
    const second = await runCli(j.args());
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(new RegExp(`^sluice: checkpoint directory ${j.ckpt} is in use by process \\d+: run one job per checkpoint directory`));
    expect(await first.stop('SIGINT')).toBe(0);

    const other = await runCli(j.args().map((a) => (a === 'count,sum' ? 'count' : a)));
    expect(other.code).toBe(1);
    expect(other.stderr).toBe(
      `sluice: checkpoint in ${j.ckpt} was written by a different job: --agg was "count,sum", now "count" ` +
        '(use another --checkpoint directory for a different job, or remove this one to start over)\n',
    );
  }, 120_000);

  it('at least once: a killed job restores its state and totals stay exact; dead letters are written once; inspect shows the offsets', async () => {
    const j = await job('alo', { keep: 2 });
    const dead = path.join(path.dirname(j.ckpt), 'dead.jsonl');
    const totals = new Map<string, { count: number; sum: number }>();
    const bad = new Set<string>();
    const args = j.args('--on-error', `dead-letter:${dead}`);
    for (let round = 0; round < 4; round++) {
      const messages = records(round * 400, 400, 25, totals);
      messages.push({ key: `bad${round}`, value: `k1,not-a-number-${round}` });
      bad.add(`k1,not-a-number-${round}`);
      await send(j.input, messages);
      const run = startCli(args, { env: { SLUICE_TEST_CHECKPOINT_PAUSE_MS: round % 2 === 0 ? '0' : '200' } });
      if (round % 2 === 1) expect(await run.waitFor(/sluice-test: checkpoint \d+ paused/), run.stderr()).toBe(true);
      else await eventually(() => groupCaughtUp(admin, j.group, j.input), 60_000, 100);
      expect(await run.stop('SIGKILL')).toBeNull();
    }
    const run = startCli(args);
    expect(await eventually(() => groupCaughtUp(admin, j.group, j.input), 60_000, 100)).toBe(true);
    expect(await run.stop('SIGINT')).toBe(0);
    expect(run.stderr()).toMatch(/^sluice: restored checkpoint of batch \d+ from /m);
    expect(run.stderr()).toContain('sluice: wrote 4 bad records to');
    // the last output of each key is its total (a batch may have been written twice: at least once)
    const last = new Map((await readTopicMessages(kafka, admin, j.output)).map((m) => [m.key, JSON.parse(m.value) as { count: number; sum: number }]));
    expect(new Map([...last].map(([k, v]) => [k, `${v.count},${v.sum}`]))).toEqual(asText(totals));
    const lines = readFileSync(dead, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { raw: string; topic: string });
    expect(lines.map((l) => l.raw).sort()).toEqual([...bad].sort());

    const ends = await admin.fetchTopicOffsets(j.input);
    const report = await runCli(['checkpoint', 'inspect', j.ckpt]);
    expect(report.code).toBe(0);
    const text = report.stdout.toString();
    const newest = (await inspectCheckpoints(j.ckpt)).checkpoints[0]!;
    expect(text).toContain(
      `batch ${newest.batch}  valid  ${path.join(j.ckpt, batchDirName(newest.batch))}\n`,
    );
    expect(text).toContain(
      `  offset    input: kafka topic ${j.input}: ${ends.sort((a, b) => a.partition - b.partition).map((e) => `partition ${e.partition} at offset ${e.high}`).join(', ')}\n`,
    );
    expect(text).toMatch(/\n {2}state {5}aggregate: 16 shards, 25 keys, /);
    expect(text).toMatch(/\n {2}counters  records=1600 badRecords=4 deadLetter=\{"path":"[^"]+","bytes":\d+\} stamp=\d+\n/);
  }, 180_000);

  it('a bounded job to a file, killed inside a checkpoint write, resumes and writes the exact totals; run again it reads only what is new', async () => {
    const j = await job('file', { out: 'file' });
    const out = path.join(path.dirname(j.ckpt), 'totals.csv');
    const totals = new Map<string, { count: number; sum: number }>();
    for (let i = 0; i < 5; i++) await send(j.input, records(i * 1000, 1000, 40, totals));
    const args = j.args('--out', out, '--batch-size', '500');
    const killed = startCli(args, { env: { SLUICE_TEST_CHECKPOINT_PAUSE_MS: '30000' } });
    expect(await killed.waitFor(/sluice-test: checkpoint 1 paused/), killed.stderr()).toBe(true);
    expect(await killed.stop('SIGKILL')).toBeNull();
    const rows = (): Map<string, string> =>
      new Map(readFileSync(out, 'utf8').trimEnd().split('\n').slice(1).map((l) => [l.slice(0, l.indexOf(',')), l.slice(l.indexOf(',') + 1)]));
    const first = await runCli(args);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(rows()).toEqual(asText(totals));
    expect(await groupCaughtUp(admin, j.group, j.input)).toBe(true);
    await send(j.input, records(5000, 100, 40, totals));
    const again = await runCli(args);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/^sluice: restored checkpoint of batch \d+ from /);
    expect(rows()).toEqual(asText(totals));
  }, 120_000);

  const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const batches = (from: number, to: number): string => (from === to ? `batch ${to}` : `batches ${from}..${to}`);

  /** A checkpoint's offsets as the job's notes show them: `0@12 1@30`. */
  function offsets(c: { offsets?: Record<string, { kind: string; partitions?: Record<string, string> }> }): string {
    return Object.entries(c.offsets!.input!.partitions!).map(([p, o]) => `${p}@${o}`).join(' ');
  }
});
