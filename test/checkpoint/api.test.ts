// checkpointDir in the embedded API: updateStateByKey (built-in and function) and the sources' positions are
// restored on start; updateStateByKey's TTL evicts idle keys and the eviction survives a restore; options checked.

import { appendFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CheckpointError, IOError, ManualClock, OptionError, SluiceError, StreamingContext } from '../../src/index.js';
import { advanceUntil, byKey, manualContext, settle } from '../api/helpers.js';
import { caseDirs } from '../helpers/cli.js';
import { notClonable } from '../../src/plan/structured-clone.js';

type Pair = [string, number];

const dirs = caseDirs('sluice-api-ckpt-');
const caseDir = dirs.next;

/** Runs a context over files read once until it ends by itself; returns what foreachBatch saw. */
async function runToEnd<T>(build: (ssc: StreamingContext, seen: T[][]) => void, options: { checkpointDir: string; inline?: boolean; workers?: number }): Promise<T[][]> {
  const ssc = new StreamingContext({ batchInterval: 20, inline: options.inline ?? true, workers: options.workers, checkpointDir: options.checkpointDir });
  const seen: T[][] = [];
  build(ssc, seen);
  await ssc.start();
  await ssc.awaitTermination();
  return seen;
}

describe('checkpointDir: restore on start', () => {
  it("updateStateByKey('sum') and the file source continue where the last run stopped", async () => {
    const dir = caseDir();
    const input = path.join(dir, 'visits.csv');
    writeFileSync(input, 'page,ms\n/a,1\n/b,2\n/a,3\n');
    const job = (ssc: StreamingContext, seen: Pair[][]): void =>
      ssc
        .fileStream(input, { format: 'csv', header: true })
        .mapToPair((r) => [r.page!, Number(r.ms)])
        .updateStateByKey('sum')
        .foreachBatch((rows) => void seen.push(byKey(rows)));
    const ckpt = path.join(dir, 'ckpt');
    expect((await runToEnd(job, { checkpointDir: ckpt })).at(-1)).toEqual([['/a', 4], ['/b', 2]]);
    appendFileSync(input, '/c,10\n/a,0.5\n');
    // the second run reads only the new lines, on top of the restored totals
    const second = await runToEnd(job, { checkpointDir: ckpt, inline: false, workers: 2 });
    expect(second).toEqual([[['/a', 4.5], ['/b', 2], ['/c', 10]]]);
    // nothing new: the state is still there, no batch runs
    expect(await runToEnd(job, { checkpointDir: ckpt })).toEqual([]);
    appendFileSync(input, '/b,1\n');
    expect(await runToEnd(job, { checkpointDir: ckpt })).toEqual([[['/a', 4.5], ['/b', 3], ['/c', 10]]]);
  });

  it('a U+FEFF that starts the first record after the checkpoint is data: only the file\'s first bytes can be a BOM', async () => {
    const dir = caseDir();
    const input = path.join(dir, 'in.csv');
    writeFileSync(input, '\ufeffa,1\n');
    const job = (ssc: StreamingContext, seen: Pair[][]): void =>
      ssc.fileStream(input, { format: 'csv' }).mapToPair(([k, v]) => [k!, Number(v)]).updateStateByKey('sum').foreachBatch((rows) => void seen.push(byKey(rows)));
    const ckpt = path.join(dir, 'ckpt');
    expect(await runToEnd(job, { checkpointDir: ckpt })).toEqual([[['a', 1]]]);
    appendFileSync(input, '\ufeffb,2\n');
    expect(await runToEnd(job, { checkpointDir: ckpt })).toEqual([[['a', 1], ['\ufeffb', 2]]]);
  });

  it('refuses to resume a file that was replaced by another as long or longer (its first bytes changed)', async () => {
    const dir = caseDir();
    const input = path.join(dir, 'in.csv');
    writeFileSync(input, 'a,1\nb,2\n');
    const job = (ssc: StreamingContext): void => ssc.fileStream(input, { format: 'csv' }).mapToPair(([k, v]) => [k!, Number(v)]).updateStateByKey('sum').print();
    const ckpt = path.join(dir, 'ckpt');
    await runToEnd(job, { checkpointDir: ckpt });
    writeFileSync(input, 'x,1\ny,2\nz,3\n');
    const ssc = new StreamingContext({ batchInterval: 20, inline: true, checkpointDir: ckpt });
    job(ssc);
    const err = await ssc.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IOError);
    expect((err as Error).message).toBe(
      `cannot resume ${input} at byte 8 of the checkpoint: its first 8 bytes are not those the checkpoint read (the file was replaced since)`,
    );
    expect(ssc.state).toBe('stopped');
  });

  it('fileStream with follow and a header resumes with the header\'s names, also for a file created after the start', async () => {
    const dir = caseDir();
    const input = path.join(dir, 'visits.csv');
    const ckpt = path.join(dir, 'ckpt');
    const run = async (append: string, until: (rows: Pair[]) => boolean): Promise<Pair[]> => {
      const ssc = new StreamingContext({ batchInterval: 20, inline: true, checkpointDir: ckpt });
      let last: Pair[] = [];
      ssc.fileStream(input, { format: 'csv', header: true, follow: true })
        .mapToPair((v) => [v.page!, Number(v.ms)])
        .updateStateByKey('sum')
        .foreachBatch((rows) => void (last = byKey(rows)));
      await ssc.start();
      await new Promise((r) => setTimeout(r, 100));
      appendFileSync(input, append);
      const deadline = Date.now() + 20_000;
      while (!until(last) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await ssc.stop({ graceful: true });
      return last;
    };
    // the file does not exist when the first run starts
    expect(await run('page,ms\n/a,1\n/b,2\n', (r) => r.length === 2)).toEqual([['/a', 1], ['/b', 2]]);
    expect(await run('/a,10\n', (r) => r[0]?.[1] === 11)).toEqual([['/a', 11], ['/b', 2]]);
  });

  it('updateStateByKey(fn) state goes through node:v8 serialize: objects, Maps and Dates come back equal', async () => {
    const dir = caseDir();
    const input = path.join(dir, 'events.jsonl');
    writeFileSync(input, '{"user":"u1","tag":"x"}\n{"user":"u2","tag":"y"}\n{"user":"u1","tag":"z"}\n');
    interface Seen { count: number; tags: Map<string, number>; first: Date }
    const job = (ssc: StreamingContext, seen: Array<Array<[string, Seen]>>): void =>
      ssc
        .fileStream<{ user: string; tag: string }>(input, { format: 'jsonl' })
        .mapToPair((e) => [e.user, e.tag])
        .updateStateByKey((tags: string[], s: Seen | undefined) => {
          const next: Seen = s ?? { count: 0, tags: new Map(), first: new Date(Date.UTC(2024, 0, 1)) };
          for (const t of tags) next.tags.set(t, (next.tags.get(t) ?? 0) + 1);
          return { ...next, count: next.count + tags.length };
        })
        .foreachBatch((rows) => void seen.push(byKey(rows)));
    const ckpt = path.join(dir, 'ckpt');
    await runToEnd(job, { checkpointDir: ckpt });
    appendFileSync(input, '{"user":"u1","tag":"x"}\n');
    const [rows] = await runToEnd(job, { checkpointDir: ckpt });
    expect(rows).toEqual([
      ['u1', { count: 3, tags: new Map([['x', 2], ['z', 1]]), first: new Date(Date.UTC(2024, 0, 1)) }],
      ['u2', { count: 1, tags: new Map([['y', 1]]), first: new Date(Date.UTC(2024, 0, 1)) }],
    ]);
    expect(rows![0]![1].tags).toBeInstanceOf(Map);
    expect(rows![0]![1].first).toBeInstanceOf(Date);
  });

  it('a state that node:v8 cannot give back as it is (a function, a symbol, a class instance) stops the job, naming the key and where', async () => {
    class Counter {
      n = 0;
      add(k: number): this {
        this.n += k;
        return this;
      }
    }
    const cases: Array<[(vs: unknown[], s: unknown) => unknown, string]> = [
      [() => ({ f: () => 1 }), 'the state of key "a" holds a function at .f'],
      [(vs, s) => ((s as Counter | undefined) ?? new Counter()).add(vs.length), 'the state of key "a" is an instance of class Counter'],
      [() => ({ list: [1, { c: new Counter() }] }), 'the state of key "a" holds an instance of class Counter at .list[1].c'],
      [() => new Map([['x', Symbol('s')]]), 'the state of key "a" holds a symbol at [value of map entry 0]'],
    ];
    for (const [update, what] of cases) {
      const dir = caseDir();
      const input = path.join(dir, 'in.csv');
      writeFileSync(input, 'a,1\n');
      const ssc = new StreamingContext({ batchInterval: 20, inline: true, checkpointDir: path.join(dir, 'ckpt') });
      ssc.fileStream(input, { format: 'csv' }).mapToPair(([k]) => [k!, 1]).updateStateByKey(update).foreachBatch(() => {});
      await ssc.start();
      const err = await ssc.awaitTermination().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SluiceError);
      expect((err as SluiceError).code).toBe('ERR_CHECKPOINT');
      expect((err as Error).message).toBe(
        `updateStateByKey(fn) of stage 2: the state cannot be checkpointed: ${what}. Keys and states must be values node:v8 serialize ` +
          'gives back as they are: primitives, plain objects, arrays, Maps, Sets, Dates, RegExps, typed arrays (a class instance would come back as a plain object)',
      );
      expect(readdirSync(path.join(dir, 'ckpt')).filter((n) => n.startsWith('batch-'))).toEqual([]);
    }
  });

  it('passes every value node:v8 gives back as it is, cycles included', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const values: unknown[] = [
      1, 'x', null, undefined, 10n, true, [1, [2]], { a: { b: [new Date(0)] } }, Object.create(null), new Map([[{ k: 1 }, new Set([/re/g])]]),
      new Float64Array(2), Buffer.from('ab'), new DataView(new ArrayBuffer(4)), new ArrayBuffer(8), Object(1), Object('s'), cyclic,
    ];
    for (const v of values) expect(notClonable(v)).toBeUndefined();
    expect(notClonable({ 'not an identifier': [new (class Point {})()] })).toEqual({ what: 'an instance of class Point', at: '["not an identifier"][0]' });
  });

  it('a class instance as a key of a function state is refused the same way', async () => {
    class Id {
      constructor(readonly v: string) {}
    }
    const dir = caseDir();
    const input = path.join(dir, 'in.csv');
    writeFileSync(input, 'a,1\n');
    const ssc = new StreamingContext({ batchInterval: 20, inline: true, checkpointDir: path.join(dir, 'ckpt') });
    ssc.fileStream(input, { format: 'csv' }).mapToPair(([k]) => [new Id(k!), 1]).updateStateByKey((vs: number[], s: number | undefined) => (s ?? 0) + vs.length).foreachBatch(() => {});
    await ssc.start();
    await expect(ssc.awaitTermination()).rejects.toThrow(/^updateStateByKey\(fn\) of stage 2: the state cannot be checkpointed: a key is an instance of class Id\. /);
  });

  it('the generator continues its sequence: two runs give what one run gives', async () => {
    const dir = caseDir();
    const job = (limit: number) => (ssc: StreamingContext, seen: Pair[][]): void =>
      ssc
        .generator({ ratePerSecond: Number.POSITIVE_INFINITY, limit, seed: 9, pages: 30 })
        .pairs('page', 'durationMs')
        .updateStateByKey('sum')
        .foreachBatch((rows) => void seen.push(byKey(rows)));
    const ckpt = path.join(dir, 'ckpt');
    await runToEnd(job(3000), { checkpointDir: ckpt });
    const resumed = (await runToEnd(job(7000), { checkpointDir: ckpt })).at(-1);
    const once = (await runToEnd(job(7000), { checkpointDir: path.join(dir, 'once') })).at(-1);
    expect(resumed).toEqual(once);
    expect(resumed!.length).toBe(30);
  });

  it('refuses the checkpoint of a different plan, saying which stage changed', async () => {
    const dir = caseDir();
    const input = path.join(dir, 'in.csv');
    writeFileSync(input, 'a,1\n');
    const ckpt = path.join(dir, 'ckpt');
    await runToEnd((ssc) => ssc.fileStream(input, { format: 'csv' }).mapToPair(([k]) => [k!, 1]).updateStateByKey('sum').print(), { checkpointDir: ckpt });
    const ssc = new StreamingContext({ batchInterval: 20, inline: true, checkpointDir: ckpt });
    ssc.fileStream(input, { format: 'csv' }).mapToPair(([k]) => [k!, 1]).updateStateByKey('max', { ttl: 5000 }).print();
    const err = await ssc.start().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toBe(
      `checkpoint in ${ckpt} was written by a different job: stage 2 was "updateStateByKey('sum') [emit all] of stage 1", ` +
        `now "updateStateByKey('max') [emit all, ttl 5000] of stage 1" ` +
        '(use another --checkpoint directory for a different job, or remove this one to start over)',
    );
    expect(ssc.state).toBe('stopped');
  });

  it('a damaged newest checkpoint is reported to onWarning, and the one before is restored', async () => {
    const dir = caseDir();
    const input = path.join(dir, 'in.csv');
    writeFileSync(input, 'a,1\n');
    const ckpt = path.join(dir, 'ckpt');
    const job = (ssc: StreamingContext, seen: Pair[][]): void =>
      ssc.fileStream(input, { format: 'csv' }).mapToPair(([k, v]) => [k!, Number(v)]).updateStateByKey('sum').foreachBatch((rows) => void seen.push(byKey(rows)));
    await runToEnd(job, { checkpointDir: ckpt });
    appendFileSync(input, 'a,2\n');
    await runToEnd(job, { checkpointDir: ckpt });
    unlinkSync(path.join(ckpt, 'batch-000000000002', 'stage-2.shard-00000.bin'));
    appendFileSync(input, 'a,4\n');
    const warnings: string[] = [];
    const ssc = new StreamingContext({ batchInterval: 20, inline: true, checkpointDir: ckpt });
    const seen: Pair[][] = [];
    job(ssc, seen);
    ssc.addListener({ onWarning: (m) => warnings.push(m) });
    await ssc.start();
    await ssc.awaitTermination();
    expect(warnings).toEqual([
      `skipped damaged checkpoint ${path.join(ckpt, 'batch-000000000002')}: stage-2.shard-00000.bin: missing; ` +
        `restored batch 1 from ${path.join(ckpt, 'batch-000000000001')}`,
    ]);
    // batch 2 is replayed from its intent (its input only, at its batch time), then the new line is a batch of its own
    expect(seen).toEqual([[['a', 3]], [['a', 7]]]);
    expect(readdirSync(ckpt).filter((n) => n.startsWith('batch-')).sort()).toEqual(['batch-000000000001', 'batch-000000000002', 'batch-000000000003']);
  });
});

describe('checkpointDir: batch intents', () => {
  /** A run that records each batch's seq, time and rows. */
  const recording = (input: string, follow: boolean) => {
    const seen: Array<{ seq: number; time: number; rows: Pair[] }> = [];
    const job = (ssc: StreamingContext): void => {
      let rows: Pair[] = [];
      ssc.fileStream(input, { format: 'csv', follow }).mapToPair(([k, v]) => [k!, Number(v)]).reduceByKey('sum').foreachBatch((r) => void (rows = byKey(r)));
      ssc.addListener({ onBatchCompleted: (b) => void seen.push({ seq: b.seq, time: b.time, rows }) });
    };
    return { seen, job };
  };

  /** Runs a job over `input` read once to its end; returns what it recorded. */
  const runOnce = async (input: string, ckpt: string): Promise<ReturnType<typeof recording>['seen']> => {
    const r = recording(input, false);
    const ssc = new StreamingContext({ batchInterval: 20, inline: true, checkpointDir: ckpt });
    r.job(ssc);
    await ssc.start();
    await ssc.awaitTermination();
    return r.seen;
  };

  // A checkpoint's intent is removed once the checkpoint is the oldest kept; removing the newest checkpoint
  // (N) of a directory with N-1 leaves what a kill between batch N's outputs and its checkpoint leaves.

  it('a batch whose checkpoint is lost is replayed from its intent: same batch id, time and records', async () => {
    const dir = caseDir();
    const input = path.join(dir, 'in.csv');
    const ckpt = path.join(dir, 'ckpt');
    writeFileSync(input, 'a,1\n');
    await runOnce(input, ckpt);
    appendFileSync(input, 'b,2\na,3\n');
    const second = await runOnce(input, ckpt);
    expect(second.map((b) => [b.seq, b.rows])).toEqual([[1, [['a', 3], ['b', 2]]]]);
    rmSync(path.join(ckpt, 'batch-000000000002'), { recursive: true });
    appendFileSync(input, 'c,5\n');
    const third = await runOnce(input, ckpt);
    expect(third[0]).toEqual(second[0]);
    expect(third.slice(1).map((b) => [b.seq, b.rows])).toEqual([[2, [['c', 5]]]]);
    expect(third[1]!.time).toBeGreaterThan(second[0]!.time);
  });

  it('refuses to replay a batch over a file truncated since, naming the bytes', async () => {
    const dir = caseDir();
    const input = path.join(dir, 'in.csv');
    const ckpt = path.join(dir, 'ckpt');
    writeFileSync(input, 'a,1\n');
    await runOnce(input, ckpt);
    appendFileSync(input, 'b,2\n');
    await runOnce(input, ckpt);
    rmSync(path.join(ckpt, 'batch-000000000002'), { recursive: true });
    writeFileSync(input, 'a,1\n');
    const err = await runOnce(input, ckpt).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SluiceError);
    expect((err as SluiceError).code).toBe('ERR_CHECKPOINT');
    expect((err as Error).message).toBe(`cannot replay a batch of file:${input}: it took bytes 4..8, and the file has 4 bytes (truncated or replaced since)`);
  });

  it('replays batches cut while a followed file did not exist yet (empty, at their batch times)', async () => {
    const dir = caseDir();
    const input = path.join(dir, 'later.csv');
    const ckpt = path.join(dir, 'ckpt');
    const first = recording(input, true);
    const ssc = new StreamingContext({ batchInterval: 20, inline: true, checkpointDir: ckpt });
    first.job(ssc);
    await ssc.start();
    const deadline = Date.now() + 20_000;
    while (first.seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await ssc.stop();
    const n = first.seen.length;
    expect(n).toBeGreaterThanOrEqual(3);
    rmSync(path.join(ckpt, `batch-${String(n).padStart(12, '0')}`), { recursive: true });
    const again = recording(input, true);
    const replay = new StreamingContext({ batchInterval: 20, inline: true, checkpointDir: ckpt });
    again.job(replay);
    await replay.start();
    await replay.stop();
    expect(again.seen[0]).toEqual({ ...first.seen[n - 1]!, rows: [] });
  });
});

describe('updateStateByKey with a TTL', () => {
  const queue = (): Pair[][] => [
    [['a', 1], ['b', 1]], // t=1000
    [['b', 1]], // t=2000: a idle 1000 <= ttl
    [['b', 1]], // t=3000: a idle 2000 > ttl: evicted
    [['a', 5]], // t=4000: a comes back from nothing; b idle 1000
    [], // t=5000: b idle 2000: evicted
    [['c', 1]], // t=5001: the queue's last item is cut as soon as it is taken
  ];
  const expected: Pair[][] = [
    [['a', 1], ['b', 1]],
    [['a', 1], ['b', 2]],
    [['b', 3]],
    [['a', 5], ['b', 3]],
    [['a', 5]],
    [['a', 5], ['c', 1]],
  ];

  for (const kind of ['built-in', 'function'] as const) {
    it(`${kind}: keys idle longer than the TTL leave the state and are not emitted`, async () => {
      const { ssc, clock } = manualContext();
      const seen: Pair[][] = [];
      const pairs = ssc.queueStream(queue()).mapToPair(([k, v]) => [k, v]);
      const totals =
        kind === 'built-in'
          ? pairs.updateStateByKey('sum', { ttl: 1500 })
          : pairs.updateStateByKey((vs: number[], s: number | undefined) => vs.reduce((x, y) => x + y, s ?? 0), { ttl: 1500 });
      totals.foreachBatch((rows) => void seen.push(byKey(rows)));
      await ssc.start();
      await advanceUntil(clock, () => seen.length === 6, 1000);
      await ssc.stop();
      expect(seen).toEqual(expected);
    });

    it(`${kind}: the idle times are checkpointed, so eviction survives a restore`, async () => {
      const dir = caseDir();
      const input = path.join(dir, 'in.csv');
      const ckpt = path.join(dir, 'ckpt');
      const run = async (startMs: number, lines: string, batches: number): Promise<Pair[][]> => {
        appendFileSync(input, lines);
        const clock = new ManualClock(startMs);
        const ssc = new StreamingContext({ batchInterval: 1000, inline: true, clock, checkpointDir: ckpt });
        const pairs = ssc.fileStream(input, { format: 'csv', follow: true }).mapToPair(([k, v]) => [k!, Number(v)]);
        const totals =
          kind === 'built-in'
            ? pairs.updateStateByKey('sum', { ttl: 1500 })
            : pairs.updateStateByKey((vs: number[], s: number | undefined) => vs.reduce((x, y) => x + y, s ?? 0), { ttl: 1500 });
        const seen: Pair[][] = [];
        totals.foreachBatch((rows) => void seen.push(byKey(rows)));
        let completed = 0;
        ssc.addListener({ onBatchCompleted: () => void completed++ });
        await ssc.start();
        // one tick at a time, each waited for in real time (the batch reads a file and writes a checkpoint)
        for (let b = 0; b < batches; b++) {
          await settle();
          await clock.advance(1000);
          const deadline = Date.now() + 10_000;
          while (completed === b && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
        }
        await ssc.stop();
        return seen;
      };
      writeFileSync(input, '');
      // first run: batch times 1000 (a, b), 2000 (b)
      expect(await run(0, 'a,1\nb,1\n', 1)).toEqual([[['a', 1], ['b', 1]]]);
      expect(await run(1000, 'b,1\n', 1)).toEqual([[['a', 1], ['b', 2]]]);
      // restored at 3000: a (last values at 1000) is evicted, b (at 2000) is kept
      expect(await run(2000, 'c,1\n', 1)).toEqual([[['b', 2], ['c', 1]]]);
      // at 4000 a does not come back with its old state, and b (idle since 2000) is gone
      expect(await run(3000, 'a,5\n', 1)).toEqual([[['a', 5], ['c', 1]]]);
    });
  }
});

describe('updateStateByKey TTL: built-in (wasm compaction) and function agree', () => {
  const key = fc.constantFrom('', 'a', 'b', 'c', 'é', '🙂', 'k'.repeat(300), 'x,y');
  const batches = fc.array(fc.array(fc.tuple(key, fc.integer({ min: -50, max: 50 })), { maxLength: 25 }), { minLength: 1, maxLength: 8 });

  it('emit the same states every batch on random input and TTLs', async () => {
    await fc.assert(
      fc.asyncProperty(batches, fc.constantFrom(500, 1000, 1500, 2500), fc.constantFrom<'all' | 'changed'>('all', 'changed'), async (input, ttl, emit) => {
        const { ssc, clock } = manualContext();
        const builtin: Pair[][] = [];
        const fn: Pair[][] = [];
        const pairs = ssc.queueStream(input.map((b) => b.slice())).mapToPair(([k, v]) => [k, v]);
        pairs.updateStateByKey('sum', { ttl, emit }).foreachBatch((r) => void builtin.push(byKey(r)));
        pairs
          .updateStateByKey((vs: number[], st: number | undefined) => vs.reduce((a, b) => a + b, st ?? 0), { ttl, emit })
          .foreachBatch((r) => void fn.push(byKey(r)));
        await ssc.start();
        while (ssc.state !== 'stopped') await clock.advance(1000);
        await ssc.awaitTermination();
        expect(builtin).toEqual(fn);
        expect(builtin.length).toBe(input.length);
      }),
      { numRuns: 60 },
    );
  });
});

describe('checkpoint options', () => {
  it('are checked where they enter, naming the option', () => {
    const bad: Array<[object, string, string]> = [
      [{ checkpointDir: '' }, 'checkpointDir', 'options.checkpointDir must be a non-empty string'],
      [{ checkpointDir: 'x', checkpointKeep: 0 }, 'checkpointKeep', 'options.checkpointKeep must be an integer from 1 to 1000'],
      [{ checkpointDir: 'x', checkpointKeep: 2.5 }, 'checkpointKeep', 'options.checkpointKeep must be an integer from 1 to 1000'],
      [{ checkpointKeep: 2 }, 'checkpointKeep', 'options.checkpointKeep needs options.checkpointDir'],
    ];
    for (const [options, option, message] of bad) {
      expect(() => new StreamingContext({ batchInterval: 1000, ...options })).toThrow(new OptionError(option, message));
    }
    const { ssc } = manualContext();
    const pairs = ssc.queueStream<Pair>([]).mapToPair(([k, v]) => [k, v]);
    for (const ttl of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, '1000']) {
      expect(() => pairs.updateStateByKey('sum', { ttl: ttl as number })).toThrow(
        new OptionError('ttl', 'updateStateByKey(update, options): options.ttl must be a positive number of milliseconds'),
      );
    }
  });

  it('refuses queueStream with checkpointDir: an in-memory queue cannot be read again', () => {
    const ssc = new StreamingContext({ batchInterval: 1000, checkpointDir: path.join(dirs.root(), 'never') });
    expect(() => ssc.queueStream([[1]])).toThrow(
      new OptionError(
        'checkpointDir',
        'queueStream() cannot be used with options.checkpointDir: its items live in memory and cannot be read again after a restart ' +
          '(use fileStream() or generator(), or drop checkpointDir)',
      ),
    );
  });
});
