import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { advanceUntil, manualContext } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-sinks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('saveAsTextFiles', () => {
  it("writes Spark's layout: prefix-<batchTimeMs>.<suffix>/part-00000 and _SUCCESS, one line per record", async () => {
    const { ssc, clock } = manualContext();
    const prefix = join(dir, 'layout', 'counts');
    const pairs = ssc.queueStream([[['/a', 1], ['b,"c"', 2.5]], [], [['/a', 3]]] as [string, number][][]).mapToPair((p) => p);
    pairs.saveAsTextFiles(prefix, 'csv');
    pairs.map(([k]) => k).saveAsTextFiles(join(dir, 'layout', 'keys'));
    let batches = 0;
    pairs.foreachBatch(() => void batches++);
    await ssc.start();
    await advanceUntil(clock, () => batches === 3, 1000);
    await ssc.awaitTermination();
    // Batch times depend on how long the writes took (ticks coalesce while a batch runs).
    const names = readdirSync(join(dir, 'layout')).sort();
    const times = names.filter((n) => n.startsWith('counts-')).map((n) => Number(/^counts-(\d+)\.csv$/.exec(n)![1]));
    times.sort((a, b) => a - b);
    expect(times).toHaveLength(3);
    expect(names).toEqual([...times.map((t) => `counts-${t}.csv`), ...times.map((t) => `keys-${t}`)].sort());
    const read = (name: string) => readFileSync(join(dir, 'layout', name, 'part-00000'), 'utf8');
    expect(times.map((t) => read(`counts-${t}.csv`))).toEqual(['/a,1\n"b,""c""",2.5\n', '', '/a,3\n']);
    expect(read(`keys-${times[0]}`)).toBe('/a\nb,"c"\n');
    for (const name of names) {
      expect(readdirSync(join(dir, 'layout', name)).sort()).toEqual(['_SUCCESS', 'part-00000']);
      expect(readFileSync(join(dir, 'layout', name, '_SUCCESS'), 'utf8')).toBe('');
    }
  });

  it('no partial batch directory is ever visible: it appears complete, by rename', async () => {
    const { ssc } = manualContext();
    const parent = join(dir, 'atomic');
    const observed: string[][] = [];
    ssc.queueStream([['x', 'y', 'z']]).saveAsTextFiles(join(parent, 'out'), 'txt', {
      // runs while the batch is being written: look at what a reader would see
      format: (r) => {
        observed.push(readdirSync(parent));
        return r.toUpperCase();
      },
    });
    await ssc.start();
    await ssc.awaitTermination();
    expect(observed).toHaveLength(3);
    for (const seen of observed) {
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatch(/^\.out-\d+\.txt\.\d+\.tmp$/); // only the hidden temporary directory
    }
    const [final] = readdirSync(parent);
    expect(final).toMatch(/^out-\d+\.txt$/);
    expect(readFileSync(join(parent, final!, 'part-00000'), 'utf8')).toBe('X\nY\nZ\n');
    expect(existsSync(join(parent, final!, '_SUCCESS'))).toBe(true);
  });

  it('a failed write leaves no directory behind and stops the job with the path', async () => {
    const { ssc } = manualContext();
    const parent = join(dir, 'failing');
    ssc.queueStream([['x']]).saveAsTextFiles(join(parent, 'out'), 'txt', {
      format: () => {
        throw new Error('cannot format');
      },
    });
    await ssc.start();
    await expect(ssc.awaitTermination()).rejects.toThrow(/cannot write .*out-\d+\.txt: cannot format/);
    expect(readdirSync(parent)).toEqual([]);
  });
});

describe('print', () => {
  it("shows the first num records under Spark's header, pairs as (key,value), ... when there are more", async () => {
    const { ssc, clock } = manualContext();
    let text = '';
    const output = { write: (s: string) => void (text += s) };
    const s = ssc.queueStream([[['a', 1], ['b', 2], ['c', 3]], [{ o: 1 }]] as unknown[][]);
    s.print(2, { output });
    await ssc.start();
    await advanceUntil(clock, () => ssc.state === 'stopped', 1000);
    const rule = '-------------------------------------------';
    expect(text).toBe(
      `${rule}\nTime: 1000 ms\n${rule}\n(a,1)\n(b,2)\n...\n\n` + `${rule}\nTime: 1001 ms\n${rule}\n{"o":1}\n\n`,
    );
  });
});
