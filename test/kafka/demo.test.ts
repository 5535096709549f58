// `sluice demo --kafka` on the real broker: the generator's visits go into website_logs, the monitor reads
// them back; what it reports and saves must count exactly what was produced, page by page.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Admin, Kafka } from 'kafkajs';
import { describeKafka, kafkaClient, readTopicMessages, requireKafkaBootstrap } from '../helpers/kafka.js';
import { runCli, tempDir } from '../helpers/cli.js';

describeKafka('sluice demo --kafka (real broker)', () => {
  let kafka: Kafka;
  let admin: Admin;
  const tmp = tempDir('sluice-demo-kafka-');

  beforeAll(async () => {
    kafka = kafkaClient('sluice-demo-test');
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await admin?.disconnect();
    tmp.remove();
  });

  it('produces into website_logs and counts back exactly what it produced, page by page; saves every batch under ./out', async () => {
    const topic = 'website_logs';
    const before = (await admin.listTopics()).includes(topic)
      ? new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, Number(o.high)]))
      : new Map<number, number>();
    const run = await runCli(['demo', '--kafka', requireKafkaBootstrap(), '--seconds', '3', '--rate', '2000', '--workers', '1'], { cwd: tmp.dir });
    expect(run.stderr).toMatch(/^sluice demo: \d+ batches, \d+ visits, \d+ pages; \d+ visits produced to website_logs; saved under \.\/out\n$/);
    expect(run.code).toBe(0);
    const [, batches, visits, , produced] = /(\d+) batches, (\d+) visits, (\d+) pages; (\d+) visits produced/.exec(run.stderr)!.map(Number);
    expect(visits).toBe(produced);
    expect(visits).toBeGreaterThan(1000);

    // what this run produced: the topic past the offsets it had before
    const sent = new Map<string, number>();
    for (const m of await readTopicMessages(kafka, admin, topic)) {
      if (Number(m.offset) < (before.get(m.partition) ?? 0)) continue;
      const v = JSON.parse(m.value) as { page: string; durationMs: number };
      expect(m.key).toBe(v.page); // keyed by page
      sent.set(v.page, (sent.get(v.page) ?? 0) + 1);
    }
    expect([...sent.values()].reduce((a, b) => a + b, 0)).toBe(produced);

    // one plain line per batch; every batch saved, and the last running totals are what was sent
    const lines = run.stdout.toString().trimEnd().split('\n');
    expect(lines).toHaveLength(batches!);
    for (const line of lines) expect(line).toMatch(/^batch \d+ \d\d:\d\d:\d\d: \d+ visits, \d+ total, \d+ pages, top \/\S*=\d+/);
    const out = path.join(tmp.dir, 'out');
    const totals = readdirSync(out).filter((d) => /^page-totals-\d+\.csv$/.test(d)).sort();
    expect(totals).toHaveLength(batches!);
    const last = readFileSync(path.join(out, totals[totals.length - 1]!, 'part-00000'), 'utf8').trim().split('\n');
    const saved = new Map(last.map((l) => [l.slice(0, l.lastIndexOf(',')), Number(l.slice(l.lastIndexOf(',') + 1))]));
    expect(saved).toEqual(sent);
  }, 90_000);

  it('--kafka must be HOST:PORT: a usage error, exit 2', async () => {
    const run = await runCli(['demo', '--kafka', 'nohost', '--seconds', '1'], { cwd: tmp.dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('sluice: --kafka must be HOST:PORT[,HOST:PORT], got "nohost": "nohost" is not HOST:PORT\n');
  });
});
