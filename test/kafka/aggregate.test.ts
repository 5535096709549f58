// `sluice aggregate` over Kafka on the real broker: the source (bounded, consumer group, offsets), the
// sink (changed keys' results, read back value by value), exactly-once under read_committed across a
// failed and a restarted job, and bad messages under skip, dead-letter and fail. KafkaSource read directly:
// a bounded read of an ephemeral group leaves the group as soon as it has fetched everything, a named
// group's member stays until close() so the caller can commit.

import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Admin, type Kafka, type Message } from 'kafkajs';
import {
  addStat, createTopic, describeKafka, eventually, groupOffsets, kafkaClient, keyedCsvMessages, produceLines, produceMessages, readTopicMessages, requireKafkaBootstrap,
  uniqueName, type KeyStats, type ReadMessage,
} from '../helpers/kafka.js';
import { CLI } from '../helpers/cli.js';
import { parseAggregateSpec, type AggregateSpecInput } from '../../src/plan/aggregate-spec.js';
import { runKafkaAggregate, type KafkaAggregateOptions } from '../../src/cli/kafka-aggregate.js';
import { BadMessageError } from '../../src/errors.js';
import { KafkaSource } from '../../src/sources/kafka.js';

describeKafka('sluice aggregate on Kafka (real broker)', () => {
  let kafka: Kafka;
  let admin: Admin;
  let bootstrap: string;
  let dir: string;

  beforeAll(async () => {
    bootstrap = requireKafkaBootstrap();
    kafka = kafkaClient('sluice-aggregate-test');
    admin = kafka.admin();
    await admin.connect();
    dir = mkdtempSync(path.join(tmpdir(), 'sluice-kafka-'));
  });

  afterAll(async () => {
    await admin?.disconnect();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const topicOf = (prefix: string, partitions: number): Promise<string> => createTopic(admin, prefix, partitions);

  const produce = (topic: string, messages: Message[]): Promise<void> => produceMessages(kafka, topic, messages);
  const readTopic = (topic: string, readUncommitted = false): Promise<ReadMessage[]> => readTopicMessages(kafka, admin, topic, readUncommitted);

  const spec = (o: AggregateSpecInput) => parseAggregateSpec({ workers: '2', ...o });
  const run = (o: AggregateSpecInput, options: KafkaAggregateOptions = {}) => runKafkaAggregate(spec(o), options);

  const csvMessages = (n: number, keys: number, seed = 1) => keyedCsvMessages(n, keys, seed);

  const readCsv = (file: string): Map<string, number[]> => {
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const rows = new Map<string, number[]>();
    for (const line of lines.slice(1)) {
      const [k, ...vals] = line.split(',');
      expect(rows.has(k!)).toBe(false);
      rows.set(k!, vals.map(Number));
    }
    return rows;
  };

  it('bounded: 1M CSV messages over 6 partitions give exact count/sum/min/max, key by key; the group commits the end offsets', async () => {
    const topic = await topicOf('agg-in', 6);
    const N = 1_000_000;
    const KEYS = 5000;
    // the reference group-by, per key in offset order (a key lives on one partition: produced in order)
    const ref = new Map<string, KeyStats>();
    const lines: string[] = [];
    for (let i = 0; i < N; i++) {
      const key = `k${(i * 7919 + 1) % KEYS}`;
      const v = ((i * 31 + 1) % 997) * 0.25 - 50;
      lines.push(`${key}\t${key},${v}`);
      addStat(ref, key, v);
    }
    expect(await produceLines(topic, lines.join('\n') + '\n')).toBe(N);
    const ends = await admin.fetchTopicOffsets(topic);
    expect(ends.reduce((n, o) => n + Number(o.high), 0)).toBe(N);
    const group = uniqueName('agg-group');
    const out = path.join(dir, 'bounded.csv');
    const res = await run({
      input: `kafka://${bootstrap}/${topic}?group=${group}`,
      key: '0',
      value: '1',
      agg: 'count,sum,min,max',
      out,
    });
    expect(res.records).toBe(N);
    expect(res.skipped).toBe(0);
    expect(res.groups).toBe(ref.size);
    const rows = readCsv(out);
    expect(rows.size).toBe(ref.size);
    for (const [k, s] of ref) expect(rows.get(k), k).toEqual([s.count, s.sum, s.min, s.max]);

    const committed = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const byPartition = new Map(committed[0]!.partitions.map((p) => [p.partition, p.offset]));
    for (const o of ends) expect(byPartition.get(o.partition)).toBe(o.high);

    // Run again on the same group: nothing new to read, an empty result.
    const again = await run({ input: `kafka://${bootstrap}/${topic}?group=${group}`, key: '0', agg: 'count', out: path.join(dir, 'again.csv') });
    expect(again.records).toBe(0);
    expect(readFileSync(path.join(dir, 'again.csv'), 'utf8')).toBe('key,count\n');
  }, 240_000);

  it('--out kafka://: each batch writes its changed keys; the last value of every key read back equals the reference', async () => {
    const input = await topicOf('sink-in', 6);
    const output = await topicOf('sink-out', 3);
    const { messages, ref } = csvMessages(30_000, 700, 3);
    await produce(input, messages);
    const batches: number[] = [];
    const res = await run(
      {
        input: `kafka://${bootstrap}/${input}?group=${uniqueName('sink-group')}`,
        key: '0',
        value: '1',
        agg: 'max,count,avg,sum,min',
        out: `kafka://${bootstrap}/${output}`,
      },
      { maxPendingBytes: 64 * 1024, onBatch: (b) => void batches.push(b.outputs) },
    );
    expect(res.records).toBe(30_000);
    expect(res.batches).toBeGreaterThan(1); // small staging: several micro-batches
    const read = await readTopic(output);
    expect(read.length).toBe(res.outputs);
    expect(read.length).toBe(batches.reduce((a, b) => a + b, 0));
    const last = new Map<string, ReadMessage>();
    for (const m of read) last.set(m.key, m);
    expect(last.size).toBe(ref.size);
    const partitionsOfKey = new Map<string, Set<number>>();
    for (const m of read) (partitionsOfKey.get(m.key) ?? partitionsOfKey.set(m.key, new Set()).get(m.key)!).add(m.partition);
    for (const [k, s] of ref) {
      const m = last.get(k)!;
      expect(Object.keys(JSON.parse(m.value))).toEqual(['max', 'count', 'avg', 'sum', 'min']); // --agg order
      expect(JSON.parse(m.value), k).toEqual({ max: s.max, count: s.count, avg: s.sum / s.count, sum: s.sum, min: s.min });
      expect(partitionsOfKey.get(k)!.size).toBe(1); // keyed by the key's bytes
    }
    // Within a key, counts only grow from batch to batch.
    const prev = new Map<string, number>();
    for (const m of read) {
      const c = (JSON.parse(m.value) as { count: number }).count;
      expect(c).toBeGreaterThan(prev.get(m.key) ?? 0);
      prev.set(m.key, c);
    }

    // --out-format csv: the file job's row, key first.
    const csvOut = await topicOf('sink-csv', 1);
    await run({
      input: `kafka://${bootstrap}/${input}`,
      key: '0',
      value: '1',
      agg: 'count,sum',
      out: `kafka://${bootstrap}/${csvOut}`,
      outFormat: 'csv',
    });
    const rows = await readTopic(csvOut);
    const lastRow = new Map(rows.map((m) => [m.key, m.value]));
    for (const [k, s] of ref) expect(lastRow.get(k)).toBe(`${k},${s.count},${s.sum}`);
  }, 90_000);

  it('--exactly-once: a job failing before a commit and its restart; read_committed sees each committed batch once and the counts add up exactly', async () => {
    const input = await topicOf('eos-in', 6);
    const out1 = await topicOf('eos-out1', 3);
    const out2 = await topicOf('eos-out2', 3);
    const { messages, ref } = csvMessages(40_000, 300, 5);
    await produce(input, messages);
    const group = uniqueName('eos-group');
    const o = (out: string): AggregateSpecInput => ({
      input: `kafka://${bootstrap}/${input}?group=${group}`,
      key: '0',
      agg: 'count',
      out: `kafka://${bootstrap}/${out}`,
      exactlyOnce: true,
    });

    // Run 1 commits two batches, then dies after producing the third batch's outputs.
    const committed1: number[] = [];
    await expect(
      run(o(out1), {
        maxPendingBytes: 48 * 1024,
        onBatch: (b) => void committed1.push(b.outputs),
        beforeCommit: (batch) => {
          if (batch === 3) throw new Error('crash before commit');
        },
      }),
    ).rejects.toThrow(/crash before commit/);
    expect(committed1).toHaveLength(2);
    const afterRun1 = await admin.fetchOffsets({ groupId: group, topics: [input] });
    const consumed1 = afterRun1[0]!.partitions.reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
    expect(consumed1).toBeGreaterThan(0);
    expect(consumed1).toBeLessThan(40_000);

    // Run 2 (same group, same transactional id) resumes at the committed offsets and finishes.
    const res2 = await run(o(out2), { maxPendingBytes: 256 * 1024 });
    expect(res2.records).toBe(40_000 - consumed1);

    const seen1 = await readTopic(out1);
    const seen1All = await readTopic(out1, true);
    const seen2 = await readTopic(out2);
    // read_committed: exactly the committed batches' outputs, once; the aborted third batch is invisible
    expect(seen1.length).toBe(committed1.reduce((a, b) => a + b, 0));
    expect(seen1All.length).toBeGreaterThan(seen1.length); // control: the aborted outputs were written
    expect(seen2.length).toBe(res2.outputs);
    const last = (ms: ReadMessage[]) => new Map(ms.map((m) => [m.key, (JSON.parse(m.value) as { count: number }).count]));
    const l1 = last(seen1);
    const l2 = last(seen2);
    // Every message counted exactly once across the two runs.
    for (const [k, s] of ref) expect((l1.get(k) ?? 0) + (l2.get(k) ?? 0), k).toBe(s.count);

    const ends = await admin.fetchTopicOffsets(input);
    const final = await admin.fetchOffsets({ groupId: group, topics: [input] });
    const byPartition = new Map(final[0]!.partitions.map((p) => [p.partition, p.offset]));
    for (const e of ends) expect(byPartition.get(e.partition)).toBe(e.high);
  }, 90_000);

  it('bad messages: skip counts them, dead-letter writes them to a topic with their position, fail stops at the first', async () => {
    const input = await topicOf('bad-in', 3);
    const messages: Message[] = [];
    const ref = new Map<string, number>();
    const bad = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const key = `k${i % 50}`;
      if (i % 500 === 7) {
        const variants = [`${key},notanumber`, `${key},"open`, `${key}`];
        messages.push({ key, value: variants[(i / 500) % 3 | 0]! });
        bad.add(messages[messages.length - 1]!.value as string);
      } else {
        messages.push({ key, value: `${key},${i % 10}` });
        ref.set(key, (ref.get(key) ?? 0) + (i % 10));
      }
    }
    await produce(input, messages);
    const base = { key: '0', value: '1', agg: 'sum' };

    const outFile = path.join(dir, 'skip.csv');
    const skip = await run({ ...base, input: `kafka://${bootstrap}/${input}`, out: outFile, onError: 'skip' });
    expect(skip.skipped).toBe(6);
    expect(skip.records).toBe(3000 - 6);
    const rows = readCsv(outFile);
    for (const [k, s] of ref) expect(rows.get(k)).toEqual([s]);

    const dead = await topicOf('bad-dead', 1);
    const dl = await run({ ...base, input: `kafka://${bootstrap}/${input}`, out: path.join(dir, 'dl.csv'), deadLetter: `kafka://${bootstrap}/${dead}` });
    expect(dl.skipped).toBe(6);
    const deadRead = await readTopic(dead);
    expect(deadRead).toHaveLength(6);
    const inputRead = await readTopic(input);
    const byPosition = new Map(inputRead.map((m) => [`${m.partition}/${m.offset}`, m.value]));
    for (const m of deadRead) {
      const h = m.headers!;
      expect(String(h['sluice.topic'])).toBe(input);
      const original = byPosition.get(`${String(h['sluice.partition'])}/${String(h['sluice.offset'])}`);
      expect(original).toBe(m.value); // the raw value, at the position the headers name
      expect(bad.has(m.value)).toBe(true);
      expect(String(h['sluice.reason'])).not.toBe('');
    }

    const err = await run({ ...base, input: `kafka://${bootstrap}/${input}`, out: path.join(dir, 'fail.csv') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadMessageError);
    const e = err as BadMessageError;
    expect(bad.has(byPosition.get(`${e.partition}/${e.offset}`)!)).toBe(true);
    expect(e.message).toMatch(new RegExp(`offset ${e.offset} of partition ${e.partition} of Kafka topic ${input}`));
  }, 90_000);

  it('--follow: keeps reading messages produced while it runs, pausing for room, until stopped', async () => {
    const input = await topicOf('follow-in', 3);
    const output = await topicOf('follow-out', 1);
    const first = csvMessages(20_000, 100, 11);
    const second = csvMessages(20_000, 100, 11);
    await produce(input, first.messages);
    const ac = new AbortController();
    let records = 0;
    const job = run(
      { input: `kafka://${bootstrap}/${input}?group=${uniqueName('follow-group')}`, key: '0', agg: 'count', out: `kafka://${bootstrap}/${output}`, follow: true },
      { signal: ac.signal, pollMs: 100, maxPendingBytes: 32 * 1024, onBatch: (b) => void (records += b.messages) },
    );
    const until = async (n: number) => {
      const deadline = Date.now() + 30_000;
      while (records < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    };
    await until(20_000);
    expect(records).toBe(20_000);
    await produce(input, second.messages);
    await until(40_000);
    ac.abort();
    const res = await job;
    expect(res.records).toBe(40_000);
    expect(res.pauses).toBeGreaterThan(0); // the small staging area made partitions wait for the engine
    const last = new Map((await readTopic(output)).map((m) => [m.key, (JSON.parse(m.value) as { count: number }).count]));
    for (const [k, s] of first.ref) expect(last.get(k), k).toBe(2 * s.count);
  }, 60_000);

  it('--message-key: each message key, byte for byte, is the grouping key; a null key is a bad record', async () => {
    const input = await topicOf('mk-in', 3);
    const output = await topicOf('mk-out', 2);
    const keys = [Buffer.from([0xff, 0x00, 0x61]), Buffer.alloc(0), Buffer.from('é,"x"'), Buffer.from('k\n2'), Buffer.from('\ufeffbom')];
    const messages: Message[] = [];
    const ref = new Map<string, KeyStats>();
    const nulls: number[] = [];
    for (let i = 0; i < 5000; i++) {
      if (i % 997 === 3) {
        nulls.push(i);
        messages.push({ key: null, value: `${i % 10}` });
        continue;
      }
      const key = keys[i % keys.length]!;
      messages.push({ key, value: i % 13 === 0 ? `"${i % 10}"` : `${i % 10}` }); // a quoted number is a number
      addStat(ref, key.toString('hex'), i % 10);
    }
    await produce(input, messages);
    const base = { input: `kafka://${bootstrap}/${input}`, messageKey: true, value: '0' };
    const res = await run({ ...base, agg: 'count,sum,max', out: `kafka://${bootstrap}/${output}`, onError: 'skip' });
    expect(res.skipped).toBe(nulls.length);
    expect(res.records).toBe(5000 - nulls.length);
    const last = new Map((await readTopic(output)).map((m) => [m.keyBytes!.toString('hex'), JSON.parse(m.value) as Record<string, number>]));
    expect(last.size).toBe(keys.length);
    for (const [k, s] of ref) expect(last.get(k), k).toEqual({ count: s.count, sum: s.sum, max: s.max });

    // fail: stops at the first null key, naming it
    const err = (await run({ ...base, agg: 'count', out: path.join(dir, 'mk.csv') }).catch((e: unknown) => e)) as BadMessageError;
    expect(err).toBeInstanceOf(BadMessageError);
    expect(err.reason).toBe('the message has a null key, and --message-key groups records by the message key');
    const byPosition = new Map((await readTopic(input)).map((m) => [`${m.partition}/${m.offset}`, m.keyBytes]));
    expect(byPosition.get(`${err.partition}/${err.offset}`)).toBeNull();

    // jsonl values, CSV file output: the value is still a whole JSON record; keys are written as text
    const jsonIn = await topicOf('mk-json', 2);
    await produce(jsonIn, [
      { key: 'a', value: '{"v":1}' },
      { key: 'b,c', value: '{"v":2,"k":"ignored"}' },
      { key: 'a', value: '{"v":"3"}' },
      { key: 'a', value: '{"v":4' }, // not JSON: bad
      { key: 'b,c', value: '[5]' }, // not an object: bad
    ]);
    const csvOut = path.join(dir, 'mk-json.csv');
    const j = await run({ input: `kafka://${bootstrap}/${jsonIn}`, format: 'jsonl', messageKey: true, value: 'v', agg: 'sum', out: csvOut, onError: 'skip' });
    expect(j.skipped).toBe(2);
    expect(readFileSync(csvOut, 'utf8').split('\n').filter(Boolean).sort()).toEqual(['"b,c",2', 'a,4', 'key,sum']);
  }, 90_000);

  it('the CLI: bounded Kafka input to a CSV file; usage errors exit 2 naming the option', async () => {
    const topic = await topicOf('cli-in', 2);
    await produce(topic, [
      { key: 'a', value: 'a,1' },
      { key: 'b', value: 'b,2' },
      { key: 'a', value: 'a,3' },
    ]);
    const cli = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
        execFile(process.execPath, [CLI, 'aggregate', ...args], { timeout: 60_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
    const ok = await cli(['--input', `kafka://${bootstrap}/${topic}`, '--key', '0', '--value', '1', '--agg', 'count,sum', '--workers', '0']);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout.split('\n').filter(Boolean).sort()).toEqual(['a,2,4', 'b,1,2', 'key,count,sum']);

    const bad = await cli(['--input', `kafka://${bootstrap}`, '--key', '0', '--agg', 'count']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--input: malformed Kafka URL/);
    const eos = await cli(['--input', `kafka://${bootstrap}/${topic}`, '--key', '0', '--agg', 'count', '--out', `kafka://${bootstrap}/x`, '--exactly-once']);
    expect(eos.code).toBe(2);
    expect(eos.stderr).toMatch(/--exactly-once needs a consumer group/);
    const both = await cli(['--input', `kafka://${bootstrap}/${topic}`, '--key', '0', '--message-key', '--agg', 'count']);
    expect(both.code).toBe(2);
    expect(both.stderr).toBe('sluice: --key and --message-key both say what to group by: give one of them\n');
    const file = await cli(['--input', 'x.csv', '--message-key', '--agg', 'count']);
    expect(file.code).toBe(2);
    expect(file.stderr).toBe("sluice: --message-key needs a kafka:// --input (it groups by each message's key)\n");
    const mk = await cli(['--input', `kafka://${bootstrap}/${topic}`, '--message-key', '--value', '1', '--agg', 'sum', '--workers', '0']);
    expect(mk.stderr).toBe('');
    expect(mk.stdout.split('\n').filter(Boolean).sort()).toEqual(['a,4', 'b,2', 'key,sum']);
  }, 60_000);

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

  it('KafkaSource, bounded, ephemeral group: every message once, and the consumer leaves its group before close()', async () => {
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

  it('KafkaSource, bounded, named group: the member stays until close(), so the offsets read can be committed', async () => {
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
