// `sluice aggregate --follow` / `--checkpoint` over files through the real binary: batch layout and contents,
// size and time cuts, complete records only, signals, resumed line numbers, bounded resume, dead letters,
// refusals, usage errors, and `sluice checkpoint inspect`.

import { appendFileSync, existsSync, readdirSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { caseDirs, runCli, startCli } from '../helpers/cli.js';
import { latestRows, readBatchDirs, sleep } from '../helpers/batch-outputs.js';
import { parseCsvOutput } from '../reference/aggregate.js';
import { sealJson, unsealJson } from '../../src/state/sealed-json.js';

const dirs = caseDirs('sluice-follow-');
const caseDir = dirs.next;
const file = (dir: string, name: string, content: string): string => {
  const p = path.join(dir, name);
  writeFileSync(p, content, { flag: 'w' });
  return p;
};

async function until(cond: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await sleep(25);
  expect(cond()).toBe(true);
}

const rowsOf = (bytes: Buffer | undefined): Map<string, string[]> => parseCsvOutput(bytes!.toString()).rows;

describe('sluice aggregate --follow over a file', () => {
  it('writes each batch changed keys to <out>-<N>.csv/part-00000 with _SUCCESS, cut by --batch-size', async () => {
    const dir = caseDir();
    const lines = Array.from({ length: 25 }, (_, i) => `k${i},${i}\n`).join('');
    const input = file(dir, 'in.csv', lines);
    const job = startCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum,count', '--follow', '--out', path.join(dir, 'out', 'totals.csv'), '--batch-size', '10', '--batch-interval', '50', '--workers', '0']);
    await until(() => readBatchDirs(path.join(dir, 'out'), 'totals').size === 3);
    // a later append changes only some keys: only they are in the next batch
    appendFileSync(input, 'k3,100\nk24,1\n');
    await until(() => readBatchDirs(path.join(dir, 'out'), 'totals').size === 4);
    expect(await job.stop('SIGTERM')).toBe(0);
    const batches = readBatchDirs(path.join(dir, 'out'), 'totals');
    expect([...batches.keys()].sort()).toEqual([1, 2, 3, 4]);
    expect(readdirSync(path.join(dir, 'out', 'totals-1.csv')).sort()).toEqual(['_SUCCESS', 'part-00000']);
    expect(batches.get(1)!.toString().split('\n')[0]).toBe('key,sum,count');
    expect([...rowsOf(batches.get(1)).keys()].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `k${i}`).sort());
    expect([...rowsOf(batches.get(3)).keys()].sort()).toEqual(['k20', 'k21', 'k22', 'k23', 'k24']);
    expect(rowsOf(batches.get(4))).toEqual(new Map([['k3', ['103', '2']], ['k24', ['25', '2']]]));
    expect(job.stderr()).toBe('');
    // nothing but the batch directories is left beside them
    expect(readdirSync(path.join(dir, 'out')).sort()).toEqual(['totals-1.csv', 'totals-2.csv', 'totals-3.csv', 'totals-4.csv']);
  });

  it('cuts a batch as soon as about --batch-size records were appended, without waiting for the tick', async () => {
    const dir = caseDir();
    const input = file(dir, 'in.csv', Array.from({ length: 10 }, (_, i) => `a${i},1\n`).join(''));
    const out = path.join(dir, 'out');
    const job = startCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'count', '--follow', '--out', path.join(out, 't'), '--batch-size', '10', '--batch-interval', '600000', '--workers', '0']);
    // what the file holds at start is taken at once
    await until(() => readBatchDirs(out, 't').size === 1, 20_000);
    appendFileSync(input, Array.from({ length: 25 }, (_, i) => `b${i},1\n`).join(''));
    await until(() => readBatchDirs(out, 't').size === 4, 20_000);
    expect(await job.stop('SIGINT')).toBe(0);
    const sizes = [...readBatchDirs(out, 't')].sort((x, y) => x[0] - y[0]).map(([, b]) => rowsOf(b).size);
    expect(sizes).toEqual([10, 10, 10, 5]);
  });

  it('takes complete records only: a record whose line feed has not come yet waits for it', async () => {
    const dir = caseDir();
    const input = file(dir, 'in.csv', 'a,1\n"b\nstill b",2');
    const out = path.join(dir, 'out', 't');
    const job = startCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'count,sum', '--follow', '--out', out, '--batch-interval', '30', '--workers', '0']);
    await until(() => readBatchDirs(path.join(dir, 'out'), 't').size === 1);
    await sleep(200); // several ticks: the partial record must not make a batch of its own
    expect(readBatchDirs(path.join(dir, 'out'), 't').size).toBe(1);
    appendFileSync(input, '5\n');
    await until(() => readBatchDirs(path.join(dir, 'out'), 't').size === 2);
    expect(await job.stop('SIGINT')).toBe(0);
    const batches = readBatchDirs(path.join(dir, 'out'), 't');
    expect(rowsOf(batches.get(1))).toEqual(new Map([['a', ['1', '1']]]));
    expect(rowsOf(batches.get(2))).toEqual(new Map([['b\nstill b', ['1', '25']]]));
  });

  it('with --out - prints the header once, then each batch changed rows; waits for a header written later', async () => {
    const dir = caseDir();
    const input = file(dir, 'in.jsonl', '');
    const job = startCli(['aggregate', '--input', input, '--key', 'p', '--value', 'v', '--agg', 'max', '--follow', '--batch-interval', '30', '--workers', '0']);
    await sleep(300);
    appendFileSync(input, '{"p":"x","v":3}\n{"p":"y","v":-1}\n');
    await until(() => job.stdout().split('\n').length >= 4);
    appendFileSync(input, '{"p":"x","v":9}\n');
    await until(() => job.stdout().includes('x,9\n'));
    expect(await job.stop('SIGINT')).toBe(0);
    const [head, ...rest] = job.stdout().split('\n');
    expect(head).toBe('key,max');
    expect(rest.slice(0, 2).sort()).toEqual(['x,3', 'y,-1']);
    expect(rest.slice(2)).toEqual(['x,9', '']);

    const csvDir = caseDir();
    const csv = file(csvDir, 'late-header.csv', '');
    const late = startCli(['aggregate', '--input', csv, '--header', '--key', 'page', '--value', 'ms', '--agg', 'sum', '--follow', '--batch-interval', '30', '--workers', '0']);
    await sleep(250);
    appendFileSync(csv, 'page,ms\n/a,');
    await sleep(150);
    appendFileSync(csv, '4\n/a,6\n');
    await until(() => late.stdout().includes('/a,10\n'));
    expect(await late.stop('SIGTERM')).toBe(0);
    expect(late.stdout()).toBe('key,sum\n/a,10\n');
  });

  it('drops a UTF-8 BOM at the start of the file, as the plain job does, also one that arrives in pieces', async () => {
    const dir = caseDir();
    const input = file(dir, 'bom.csv', '');
    const job = startCli(['aggregate', '--input', input, '--header', '--key', 'page', '--value', 'ms', '--agg', 'sum', '--follow', '--batch-interval', '30', '--workers', '0']);
    await sleep(200);
    appendFileSync(input, Buffer.from([0xef, 0xbb]));
    await sleep(200);
    appendFileSync(input, Buffer.concat([Buffer.from([0xbf]), Buffer.from('page,ms\n\ufeff/a,1\n/a,2\n')]));
    await until(() => job.stdout().split('\n').length === 4);
    expect(await job.stop('SIGINT')).toBe(0);
    // the BOM before the header is dropped (the header names page); a U+FEFF after it is data, kept
    const [head, ...rows] = job.stdout().split('\n');
    expect(head).toBe('key,sum');
    expect(rows.sort()).toEqual(['', '/a,2', '\ufeff/a,1']);

    const bounded = file(dir, 'bom2.csv', '\ufeffk,v\nx,1\nx,2\n');
    const plain = await runCli(['aggregate', '--input', bounded, '--header', '--key', 'k', '--value', 'v', '--agg', 'sum']);
    const checkpointed = await runCli(['aggregate', '--input', bounded, '--header', '--key', 'k', '--value', 'v', '--agg', 'sum', '--checkpoint', path.join(dir, 'ckpt')]);
    expect(plain.stdout.toString()).toBe('key,sum\nx,3\n');
    expect(checkpointed.stdout.toString()).toBe('key,sum\nx,3\n');
  });

  it('waits for a followed file that does not exist yet, saying so; Ctrl-C while waiting still prints the header', async () => {
    const dir = caseDir();
    const input = path.join(dir, 'later.csv');
    const args = ['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--follow', '--batch-interval', '30', '--workers', '0'];
    const job = startCli([...args, '--checkpoint', path.join(dir, 'ckpt')]);
    expect(await job.waitFor(/waiting/)).toBe(true);
    writeFileSync(input, 'a,1\na,2\n');
    await until(() => job.stdout().includes('a,3\n'));
    expect(await job.stop('SIGINT')).toBe(0);
    expect(job.stdout()).toBe('key,sum\na,3\n');
    expect(job.stderr()).toBe(`sluice: waiting for ${input} to be created\n`);

    const never = startCli([...args.slice(0, 2), path.join(dir, 'never.csv'), ...args.slice(3)]);
    expect(await never.waitFor(/waiting/)).toBe(true);
    expect(await never.stop('SIGINT')).toBe(0);
    expect(never.stdout()).toBe('key,sum\n');
    // a bounded job does not wait
    const bounded = await runCli(['aggregate', '--input', path.join(dir, 'never.csv'), '--key', '0', '--value', '1', '--agg', 'sum', '--checkpoint', path.join(dir, 'c2')]);
    expect([bounded.code, bounded.stderr]).toEqual([1, `sluice: cannot read ${path.join(dir, 'never.csv')}: no such file\n`]);
  });

  it('refuses a followed file that shrank or was replaced (exit 1, naming it)', async () => {
    const dir = caseDir();
    const input = file(dir, 'in.csv', 'a,1\nb,2\n');
    const job = startCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--follow', '--batch-interval', '30', '--workers', '0']);
    await until(() => job.stdout().split('\n').length >= 4);
    writeFileSync(input + '.new', 'c,3\n');
    renameSync(input + '.new', input);
    expect(await job.exited).toBe(1);
    expect(job.stderr()).toBe(`sluice: ${input} was replaced by another file while being followed: sluice follows one growing file\n`);
  });
});

describe('sluice aggregate --checkpoint over a file', () => {
  it('resumes at the checkpointed byte position with line numbers intact', async () => {
    const dir = caseDir();
    const input = file(dir, 'in.csv', 'page,ms\n/a,1\n"/b\nb",2\n');
    const ckpt = path.join(dir, 'ckpt');
    const args = ['aggregate', '--input', input, '--header', '--key', 'page', '--value', 'ms', '--agg', 'count', '--follow', '--checkpoint', ckpt, '--out', path.join(dir, 'out', 't'), '--batch-interval', '20', '--workers', '0'];
    const job = startCli(args);
    await until(() => readBatchDirs(path.join(dir, 'out'), 't').size === 1);
    expect(await job.stop('SIGINT')).toBe(0);
    appendFileSync(input, '/c,3\n/d,x\n');
    const again = startCli(args);
    expect(await again.exited).toBe(1);
    expect(again.stderr()).toBe(
      `sluice: restored checkpoint of batch 1 from ${path.join(ckpt, 'batch-000000000001')}: resuming ${input} at byte 22, line 5\n` +
        `sluice: bad record at line 6 of ${input}: value "x" in column 1 ("ms") is not a decimal number\n`,
    );
    // the failed batch wrote nothing: no output directory, no checkpoint
    expect(readBatchDirs(path.join(dir, 'out'), 't').size).toBe(1);
    expect(readdirSync(ckpt).filter((x) => x.startsWith('batch-'))).toEqual(['batch-000000000001']);
  });

  it('a bounded job resumes where it was killed and writes the same --out as a plain run', async () => {
    const dir = caseDir();
    let text = 'user,amount\n';
    for (let i = 0; i < 5000; i++) text += `u${(i * 7919) % 503},${(i % 13) - 6}.25\n`;
    text += 'u-last,1'; // no final line feed: the end of a bounded input ends the record
    const input = file(dir, 'big.csv', text);
    const plain = await runCli(['aggregate', '--input', input, '--header', '--key', 'user', '--value', 'amount', '--agg', 'count,sum,min,max,avg']);
    expect(plain.code).toBe(0);
    const ckpt = path.join(dir, 'ckpt');
    const out = path.join(dir, 'result.csv');
    const args = (batch: string): string[] => ['aggregate', '--input', input, '--header', '--key', 'user', '--value', 'amount', '--agg', 'count,sum,min,max,avg', '--checkpoint', ckpt, '--out', out, '--batch-size', batch, '--workers', '0'];
    // killed inside the checkpoint of its 3rd batch
    const job = startCli(args('700'), { env: { SLUICE_TEST_CHECKPOINT_PAUSE_MS: '2000' } });
    expect(await job.waitFor(/checkpoint 3 paused/, 30_000)).toBe(true);
    expect(await job.stop('SIGKILL')).toBeNull();
    expect(existsSync(out)).toBe(false);
    // resumed with another batch size: batch 3 is replayed as it was cut (700 records), the rest at 1000
    const resumed = await runCli(args('1000'));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toBe(
      `sluice: restored checkpoint of batch 2 from ${path.join(ckpt, 'batch-000000000002')}: resuming ${input} at byte ${Buffer.byteLength(text.split('\n').slice(0, 1401).join('\n')) + 1}, line 1402\n` +
        `sluice: replaying batch 3 (bytes ${Buffer.byteLength(text.split('\n').slice(0, 1401).join('\n')) + 1}..${Buffer.byteLength(text)} of ${input}) as it was cut before the restart\n`,
    );
    expect(parseCsvOutput(readFileSync(out, 'utf8'))).toEqual(parseCsvOutput(plain.stdout.toString()));
    // run again over the finished input: nothing new, the same result
    const rerun = await runCli(args('1000'));
    expect(rerun.code).toBe(0);
    expect(parseCsvOutput(readFileSync(out, 'utf8'))).toEqual(parseCsvOutput(plain.stdout.toString()));
    const inspect = await runCli(['checkpoint', 'inspect', '--json', ckpt]);
    const report = JSON.parse(inspect.stdout.toString());
    expect(report.checkpoints[0]).toMatchObject({ batch: 6, valid: true, extra: { records: 5001, badRecords: 0 } });
    expect(report.checkpoints[0].offsets.input).toMatchObject({ kind: 'file', path: input, byte: Buffer.byteLength(text), line: 5002 });
  });

  it('dead letters are written once even when their batch is replayed', async () => {
    const dir = caseDir();
    const input = file(dir, 'in.csv', 'a,1\nb,oops\nc,3\n');
    const dead = path.join(dir, 'dead.jsonl');
    const ckpt = path.join(dir, 'ckpt');
    const args = ['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--follow', '--checkpoint', ckpt, '--out', path.join(dir, 'out', 't'), '--on-error', `dead-letter:${dead}`, '--batch-interval', '20', '--workers', '0'];
    const job = startCli(args, { env: { SLUICE_TEST_CHECKPOINT_PAUSE_MS: '3000' } });
    expect(await job.waitFor(/checkpoint 1 paused/, 30_000)).toBe(true);
    expect(await job.stop('SIGKILL')).toBeNull();
    expect(readFileSync(dead, 'utf8')).toBe('{"line":2,"reason":"value \\"oops\\" in column 1 is not a decimal number","raw":"b,oops"}\n');
    appendFileSync(input, 'd,zz\n');
    const again = startCli(args);
    await until(() => readBatchDirs(path.join(dir, 'out'), 't').size === 2);
    expect(await again.stop('SIGINT')).toBe(0);
    expect(again.stderr()).toContain('replaying batch 1 ');
    expect(again.stderr()).toContain(`sluice: wrote 2 bad records to ${dead}\n`);
    expect(readFileSync(dead, 'utf8')).toBe(
      '{"line":2,"reason":"value \\"oops\\" in column 1 is not a decimal number","raw":"b,oops"}\n' +
        '{"line":4,"reason":"value \\"zz\\" in column 1 is not a decimal number","raw":"d,zz"}\n',
    );
  });

  it('an input that holds no record gives the empty result, as the plain job (with --header too)', async () => {
    const dir = caseDir();
    for (const [name, content, args] of [
      ['empty.csv', '', ['--header', '--key', 'page', '--value', 'ms']],
      ['blank.csv', '\n\r\n', ['--header', '--key', 'page', '--value', 'ms']],
      ['empty.jsonl', '', ['--key', 'page', '--value', 'ms']],
    ] as const) {
      const input = file(dir, name, content);
      const r = await runCli(['aggregate', '--input', input, ...args, '--agg', 'sum', '--checkpoint', path.join(dir, `ckpt-${name}`)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout.toString()).toBe('key,sum\n');
    }
  });

  it('refuses a checkpoint of another job, saying what changed (exit 1)', async () => {
    const dir = caseDir();
    const input = file(dir, 'in.csv', 'a,1,x\n');
    const ckpt = path.join(dir, 'ckpt');
    const first = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--checkpoint', ckpt, '--workers', '0']);
    expect(first.code).toBe(0);
    const other = await runCli(['aggregate', '--input', input, '--key', '2', '--value', '1', '--agg', 'sum,count', '--checkpoint', ckpt, '--workers', '0']);
    expect(other.code).toBe(1);
    expect(other.stderr).toBe(
      `sluice: checkpoint in ${ckpt} was written by a different job: --key was "0", now "2"; --agg was "sum", now "sum,count" ` +
        '(use another --checkpoint directory for a different job, or remove this one to start over)\n',
    );
  });

  it('refuses to replay a batch over a file that became shorter than the range it took (its directory is kept)', async () => {
    const dir = caseDir();
    const input = file(dir, 'in.csv', 'a,1\n');
    const ckpt = path.join(dir, 'ckpt');
    const outDir = path.join(dir, 'out');
    const args = ['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--follow', '--checkpoint', ckpt, '--out', path.join(outDir, 't'), '--batch-interval', '20', '--workers', '0'];
    const first = startCli(args);
    await until(() => readBatchDirs(outDir, 't').size === 1);
    expect(await first.stop('SIGINT')).toBe(0);
    appendFileSync(input, 'b,2\nc,3\n');
    // killed inside checkpoint 2: batch 2's directory is written, its intent says bytes 4..12
    const killed = startCli(args, { env: { SLUICE_TEST_CHECKPOINT_PAUSE_MS: '5000' } });
    expect(await killed.waitFor(/checkpoint 2 paused/)).toBe(true);
    expect(await killed.stop('SIGKILL')).toBeNull();
    const written = readBatchDirs(outDir, 't').get(2)!;
    expect(rowsOf(written)).toEqual(new Map([['b', ['2']], ['c', ['3']]]));
    truncateSync(input, 8); // c,3 is gone: a replay would write batch 2 with other bytes
    const again = await runCli(args);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(
      `sluice: ${input} shrank from 12 to 8 bytes: it was truncated or replaced, and a followed or checkpointed file must only grow (start over with a new --checkpoint directory)\n`,
    );
    expect(readBatchDirs(outDir, 't').get(2)!.equals(written)).toBe(true);
  });

  it('a last record counted without a line feed: an append that starts with the line feed goes on, one that extends the record is refused', async () => {
    const dir = caseDir();
    const args = (input: string, ckpt: string): string[] => ['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'count,sum', '--checkpoint', path.join(dir, ckpt)];
    const ok = file(dir, 'ok.csv', 'a,1\nb,2');
    expect((await runCli(args(ok, 'c1'))).stdout.toString()).toContain('b,1,2\n');
    appendFileSync(ok, '\r\nb,5\n');
    const resumed = await runCli(args(ok, 'c1'));
    expect(resumed.stderr).toBe(`sluice: restored checkpoint of batch 1 from ${path.join(dir, 'c1', 'batch-000000000001')}: resuming ${ok} at byte 9, line 3\n`);
    expect(parseCsvOutput(resumed.stdout.toString()).rows).toEqual(new Map([['a', ['1', '1']], ['b', ['2', '7']]]));
    // a later bad record is still named by its own line
    appendFileSync(ok, 'c,x\n');
    expect((await runCli(args(ok, 'c1'))).stderr).toMatch(new RegExp(`\nsluice: bad record at line 4 of ${ok}: value "x" in column 1 is not a decimal number\n$`));

    const cut = file(dir, 'cut.csv', 'a,1\nb,2');
    expect((await runCli(args(cut, 'c2'))).code).toBe(0);
    appendFileSync(cut, '5\nc,1\n'); // b,2 was b,25 all along
    const refused = await runCli(args(cut, 'c2'));
    expect(refused.code).toBe(1);
    expect(refused.stdout.toString()).toBe('');
    expect(refused.stderr).toBe(
      `sluice: ${cut} grew after checkpoint ${path.join(dir, 'c2', 'batch-000000000001')} counted its last record, which had no line feed yet: ` +
        'that record was cut short when it was counted (the bytes appended continue it); start over with a new --checkpoint directory\n',
    );
  });

  it('refuses a checkpointed file that was replaced by a shorter or different one', async () => {
    const dir = caseDir();
    const input = file(dir, 'in.csv', 'a,1\nb,2\n');
    const ckpt = path.join(dir, 'ckpt');
    expect((await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--checkpoint', ckpt])).code).toBe(0);
    writeFileSync(input, 'x,1\ny,2\nz,3\n');
    const r = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--checkpoint', ckpt]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `sluice: ${input} is not the file checkpoint ${path.join(ckpt, 'batch-000000000001')} read (its first bytes changed): ` +
        'it was truncated or replaced; use a new --checkpoint directory to aggregate it from the start\n',
    );
  });

  it('usage errors exit 2 naming the option', async () => {
    const dir = caseDir();
    const input = file(dir, 'in.csv', 'a,1\n');
    const cases: Array<[string[], string]> = [
      [['--input', '-', '--follow'], 'sluice: --follow needs a file or a kafka:// --input (standard input is read to its end anyway)\n'],
      [['--input', '-', '--checkpoint', 'c'], 'sluice: --checkpoint needs a file or a kafka:// --input: standard input cannot be read again after a restart\n'],
      [['--input', input, '--checkpoint', path.join(dir, 'c'), '--checkpoint-keep', '0'], 'sluice: --checkpoint-keep must be an integer from 1 to 1000, got "0"\n'],
      [['--input', input, '--checkpoint-keep', '2'], 'sluice: --checkpoint-keep needs --checkpoint <dir>\n'],
      [['--input', input, '--follow', '--batch-interval', '0'], 'sluice: --batch-interval must be an integer from 1 to 86400000, got "0"\n'],
      [['--input', input, '--follow', '--batch-interval', '1.5s'], 'sluice: --batch-interval must be an integer from 1 to 86400000, got "1.5s"\n'],
      [['--input', input, '--batch-interval', '100'], 'sluice: --batch-interval applies to --follow with a file --input\n'],
      [['--input', 'kafka://127.0.0.1:1/t', '--follow', '--batch-interval', '100'], 'sluice: --batch-interval applies to --follow with a file --input\n'],
    ];
    for (const [extra, message] of cases) {
      const r = await runCli(['aggregate', '--key', '0', '--value', '1', '--agg', 'sum', ...extra]);
      expect(r.stderr).toBe(message);
      expect(r.code).toBe(2);
    }
  });
});

describe('sluice checkpoint inspect', () => {
  it('lists checkpoints with offsets, shards, key counts, sizes and validity; exit 1 when none is usable', async () => {
    const dir = caseDir();
    const input = file(dir, 'in.csv', 'a,1\nb,2\na,3\n');
    const ckpt = path.join(dir, 'ckpt');
    expect((await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--checkpoint', ckpt, '--batch-size', '2'])).code).toBe(0);
    const r = await runCli(['checkpoint', 'inspect', ckpt]);
    expect(r.code).toBe(0);
    const text = r.stdout.toString();
    expect(text).toMatch(new RegExp(`^checkpoints in ${ckpt}, newest first:\\nbatch 2  valid  ${ckpt}/batch-000000000002\\n`));
    expect(text).toContain(`  offset    input: file ${input} at byte 12, line 4\n`);
    expect(text).toContain('  state     aggregate: 16 shards, 2 keys, ');
    expect(text).toMatch(/ {12}shard +\d+: 1 key, +1 B of keys, file \d+ B\n/);
    expect(text).toContain('            14 other shards empty\n');
    expect(text).toContain('  counters  records=3 badRecords=0\n');
    expect(text).toContain('batch 1  valid');
    expect(text).toContain('batch intents (the input each batch takes, recorded before it runs):\n  batch 2: input bytes 8..12 from line 3, at most 2 records, to the end of the input\n');
    expect(text.endsWith('a restart restores batch 2\n')).toBe(true);

    writeFileSync(path.join(ckpt, 'batch-000000000002', 'manifest.json'), 'garbage');
    const damaged = await runCli(['checkpoint', 'inspect', ckpt]);
    expect(damaged.code).toBe(0);
    expect(damaged.stdout.toString()).toContain(`batch 2  DAMAGED  ${ckpt}/batch-000000000002\n  problem   manifest.json: not a sealed JSON file (torn or overwritten)\n`);
    expect(damaged.stdout.toString().endsWith('a restart restores batch 1, then replays batch 2 as cut before the stop\n')).toBe(true);
    const json = JSON.parse((await runCli(['checkpoint', 'inspect', '--json', ckpt])).stdout.toString());
    expect(json.checkpoints.map((c: { batch: number; valid: boolean }) => [c.batch, c.valid])).toEqual([[2, false], [1, true]]);

    writeFileSync(path.join(ckpt, 'batch-000000000001', 'manifest.json'), '');
    const none = await runCli(['checkpoint', 'inspect', ckpt]);
    expect(none.code).toBe(1);
    expect(none.stdout.toString().endsWith(`a restart refuses to run: every checkpoint is damaged: remove ${ckpt} to start over from the beginning of the input\n`)).toBe(true);
    const missing = await runCli(['checkpoint', 'inspect', path.join(dir, 'nope')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(`sluice: ${path.join(dir, 'nope')}: no such directory\n`);
    const notDir = await runCli(['checkpoint', 'inspect', input]);
    expect(notDir.code).toBe(1);
    expect(notDir.stderr).toBe(`sluice: ${input} is not a directory\n`);
    const usage = await runCli(['checkpoint', 'inspect']);
    expect(usage.code).toBe(2);
  });

  it('says what a restart would do: refuse a newer format version or a damaged intent; replay the batches cut before a kill', async () => {
    const dir = caseDir();
    const input = file(dir, 'in.csv', 'a,1\nb,2\na,3\nc,4\n');
    const ckpt = path.join(dir, 'ckpt');
    const args = ['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--checkpoint', ckpt, '--batch-size', '2'];
    expect((await runCli(args)).code).toBe(0);
    const manifest = path.join(ckpt, 'batch-000000000002', 'manifest.json');
    const original = readFileSync(manifest, 'utf8');
    const sealed = unsealJson(original) as { ok: true; body: object };
    writeFileSync(manifest, sealJson({ ...sealed.body, version: 2 }));
    // batch 1 is valid, but a restart stops at batch 2 (it is not damage: another sluice wrote it)
    const newer = await runCli(['checkpoint', 'inspect', ckpt]);
    const refusal = `checkpoint ${path.join(ckpt, 'batch-000000000002')} has format version 2, and this sluice reads version 1: run the sluice that wrote it, or remove ${ckpt} to start over`;
    expect(newer.stdout.toString().endsWith(`a restart refuses to run: ${refusal}\n`)).toBe(true);
    expect(newer.code).toBe(1);
    const restart = await runCli(args);
    expect([restart.code, restart.stderr]).toEqual([1, `sluice: ${refusal}\n`]);
    expect(JSON.parse((await runCli(['checkpoint', 'inspect', '--json', ckpt])).stdout.toString()).restart).toEqual({ action: 'refuse', reason: refusal });

    // killed after intent 3 was written (batch 3 cut, not checkpointed): restored 2, replays 3
    writeFileSync(manifest, original);
    appendFileSync(input, 'd,5\n');
    const killed = startCli(args, { env: { SLUICE_TEST_CHECKPOINT_PAUSE_MS: '5000' } });
    expect(await killed.waitFor(/checkpoint 3 paused/)).toBe(true);
    expect(await killed.stop('SIGKILL')).toBeNull();
    const pending = await runCli(['checkpoint', 'inspect', ckpt]);
    expect(pending.code).toBe(0);
    expect(pending.stdout.toString().endsWith('a restart restores batch 2, then replays batch 3 as cut before the stop\n')).toBe(true);
    const intent = path.join(ckpt, 'intent-000000000003.json');
    writeFileSync(intent, readFileSync(intent, 'utf8').replace('"batch":3', '"batch":4'));
    const damagedIntent = await runCli(['checkpoint', 'inspect', ckpt]);
    expect(damagedIntent.code).toBe(1);
    expect(damagedIntent.stdout.toString()).toContain('  batch 3: DAMAGED (SHA-256 mismatch (changed or corrupt))\n');
    expect(damagedIntent.stdout.toString().endsWith('a restart refuses to run: batch intent 3 is damaged (SHA-256 mismatch (changed or corrupt)), so batch 3 cannot be replayed exactly\n')).toBe(true);

    // killed before its first checkpoint: nothing to restore, batch 1 is replayed from the start
    const fresh = path.join(dir, 'fresh');
    const first = startCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--checkpoint', fresh], { env: { SLUICE_TEST_CHECKPOINT_PAUSE_MS: '5000' } });
    expect(await first.waitFor(/checkpoint 1 paused/)).toBe(true);
    expect(await first.stop('SIGKILL')).toBeNull();
    const none = await runCli(['checkpoint', 'inspect', fresh]);
    expect(none.code).toBe(1);
    expect(none.stdout.toString()).toBe(
      `no checkpoints in ${fresh}\nbatch intents (the input each batch takes, recorded before it runs):\n` +
        '  batch 1: input bytes 0..20 from line 1, at most 1048576 records, to the end of the input\n' +
        'no usable checkpoint: a restart starts from the beginning, then replays batch 1 as cut before the stop\n',
    );
  });
});
