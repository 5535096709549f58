// `sluice aggregate` through the real binary: the outputs, messages and exit codes a user sees.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT, runCli, startCli, tempDir } from '../helpers/cli.js';
import { aggregateReference, parseCsvOutput } from '../reference/aggregate.js';

let dir: string;
let remove: () => void;
beforeAll(() => ({ dir, remove } = tempDir()));
afterAll(() => remove());

let files = 0;
/** Writes `content` to a new file in the test directory and returns its path. */
function file(name: string, content: string | Uint8Array): string {
  const p = path.join(dir, `${++files}-${name}`);
  writeFileSync(p, content);
  return p;
}

/** The output's header line and its data lines sorted (rows come in any order; no key here holds a LF). */
function lines(out: Buffer | string): { header: string; rows: string[] } {
  const [header, ...rows] = out.toString().split('\n');
  expect(rows.pop()).toBe(''); // the last record ends with LF
  return { header: header!, rows: rows.sort() };
}

describe.concurrent('sluice aggregate: output', () => {
  it('writes the exact bytes for a one-key file, and every aggregation in the order given', async () => {
    const input = file('one.csv', 'a,1\na,2.5\na,-0.5\n');
    const r = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'avg,count,sum,min,max,sum']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.toString()).toBe('key,avg,count,sum,min,max,sum\na,1,3,3,-0.5,2.5,3\n');
  });

  it('groups a small file, sums in input order, numbers as String(x), rows in any order', async () => {
    // /b: 0.1 + 0.2 + 0.3 is 0.6000000000000001 left to right (0.6 in the other order)
    const input = file('small.csv', 'page,ms\n/a,10\n/b,0.1\n/a,20\n/b,0.2\n/c,1e3\n/a,.5\n/c,+3\n/b,.3e0\n');
    const r = await runCli(['aggregate', '--input', input, '--header', '--key', 'page', '--value', 'ms', '--agg', 'count,sum,min,max,avg']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual({
      header: 'key,count,sum,min,max,avg',
      rows: ['/a,3,30.5,0.5,20,10.166666666666666', '/b,3,0.6000000000000001,0.1,0.3,0.20000000000000004', '/c,2,1003,3,1000,501.5'],
    });
  });

  it('takes --key/--value as header names or 0-based indexes with --header', async () => {
    const input = file('named.csv', 'id,"amount, EUR",city\n1,5,Paris\n2,7,Oslo\n3,1,Paris\n');
    const byName = await runCli(['aggregate', '--input', input, '--header', '--key', 'city', '--value', 'amount, EUR', '--agg', 'sum']);
    const byIndex = await runCli(['aggregate', '--input', input, '--header', '--key', '2', '--value', '1', '--agg', 'sum']);
    expect(lines(byName.stdout)).toEqual({ header: 'key,sum', rows: ['Oslo,7', 'Paris,6'] });
    expect(byIndex.stdout.toString('hex')).toBe(byName.stdout.toString('hex'));
  });

  it('reads a dotted path in JSONL; --format comes from the extension', async () => {
    const input = file(
      'nested.jsonl',
      '{"m":{"k":"x","v":2},"k":"top"}\n{"m":{"v":3,"k":"y"}}\n{"m":{"k":"x","v":-1.5e1}}\n\n{"k":"z","m":{"k":"x","v":"4"}}\r\n',
    );
    const r = await runCli(['aggregate', '--input', input, '--key', 'm.k', '--value', 'm.v', '--agg', 'count,sum']);
    expect(r.code).toBe(0);
    expect(lines(r.stdout)).toEqual({ header: 'key,count,sum', rows: ['x,3,-9', 'y,1,3'] });
  });

  it('reads a JSONL field whose name holds a dot with the name in backticks, as Spark does', async () => {
    const input = file('dots.jsonl', '{"a.b":"dot","a":{"b":"nested"},"m":{"v.1":2}}\n');
    const dotted = await runCli(['aggregate', '--input', input, '--key', 'a.b', '--value', 'm.`v.1`', '--agg', 'sum']);
    expect([dotted.code, dotted.stdout.toString()]).toEqual([0, 'key,sum\nnested,2\n']);
    const quoted = await runCli(['aggregate', '--input', input, '--key', '`a.b`', '--value', 'm.`v.1`', '--agg', 'sum']);
    expect([quoted.code, quoted.stdout.toString()]).toEqual([0, 'key,sum\ndot,2\n']);
    const open = await runCli(['aggregate', '--input', input, '--key', '`a.b', '--agg', 'count']);
    expect([open.code, open.stderr]).toEqual([2, 'sluice: --key "`a.b" is not a field path: the backtick at character 1 is not closed\n']);
  });

  it('groups a JSON string key by its decoded text, a number key by its JSON text', async () => {
    const input = file(
      'keys.jsonl',
      [
        '{"k":"caf\\u00e9","v":1}',
        '{"k":"café","v":2}',
        '{"k":"\\ud83d\\ude00","v":4}',
        '{"k":"😀","v":8}',
        '{"k":"tab\\there \\"q\\" \\\\ \\/","v":16}',
        '{"k":1.50,"v":32}',
        '{"k":1.5,"v":64}',
        '{"k":"1.50","v":128}',
        '{"k":1e2,"v":256}',
        '{"k":100,"v":512}',
        '{"k":-0,"v":1024}',
        '{"k":true,"v":2048}',
      ].join('\n'),
    );
    const r = await runCli(['aggregate', '--input', input, '--key', 'k', '--value', 'v', '--agg', 'sum']);
    expect(r.code).toBe(0);
    expect(parseCsvOutput(r.stdout.toString())).toEqual({
      header: 'key,sum',
      rows: new Map([
        ['café', ['3']],
        ['😀', ['12']],
        ['tab\there "q" \\ /', ['16']],
        ['1.50', ['160']],
        ['1.5', ['64']],
        ['1e2', ['256']],
        ['100', ['512']],
        ['-0', ['1024']],
        ['true', ['2048']],
      ]),
    });
  });

  it('keeps keys byte for byte: spaces, the empty key, a U+FEFF after the start, 2- and 4-byte UTF-8', async () => {
    const input = file('bytes.csv', 'x,1\n\uFEFFa,1\na,2\n a,4\na ,8\n,16\n"",32\nñ,64\n𝄞,128\n\uFEFF,256\n');
    const r = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum']);
    expect(r.code).toBe(0);
    expect(parseCsvOutput(r.stdout.toString())).toEqual({
      header: 'key,sum',
      rows: new Map([
        ['x', ['1']],
        ['\uFEFFa', ['1']],
        ['a', ['2']],
        [' a', ['4']],
        ['a ', ['8']],
        ['', ['48']],
        ['ñ', ['64']],
        ['𝄞', ['128']],
        ['\uFEFF', ['256']],
      ]),
    });
  });

  it('drops a byte order mark at the very start of the input (an encoding signature, not part of the first key)', async () => {
    const bom = '\uFEFF';
    const csv = file('bom.csv', `${bom}a,1\n${bom}a,2\n`);
    const plain = await runCli(['aggregate', '--input', csv, '--key', '0', '--value', '1', '--agg', 'sum']);
    expect(parseCsvOutput(plain.stdout.toString()).rows).toEqual(new Map([['a', ['1']], [`${bom}a`, ['2']]]));
    // stdin, the BOM split across reads
    const bytes = readFileSync(csv);
    const piped = await runCli(['aggregate', '--input', '-', '--key', '0', '--value', '1', '--agg', 'sum'], { stdin: [bytes.subarray(0, 1), bytes.subarray(1, 2), bytes.subarray(2)] });
    expect(piped.stdout.toString('hex')).toBe(plain.stdout.toString('hex'));
    const header = file('bom-header.csv', `${bom}page,ms\n/a,1\n`);
    const named = await runCli(['aggregate', '--input', header, '--header', '--key', 'page', '--value', 'ms', '--agg', 'sum']);
    expect([named.code, named.stdout.toString()]).toEqual([0, 'key,sum\n/a,1\n']);
    const jsonl = file('bom.jsonl', `${bom}{"k":"a","v":1}\n`);
    const j = await runCli(['aggregate', '--input', jsonl, '--key', 'k', '--value', 'v', '--agg', 'sum']);
    expect([j.code, j.stderr, j.stdout.toString()]).toEqual([0, '', 'key,sum\na,1\n']);
  });

  it('keeps 1 MB keys and a 5 MB quoted key with newlines across the 4 MB reads, from a file and from stdin', async () => {
    const mb = 'k'.repeat(1 << 20);
    const huge = `${'z'.repeat(3 << 20)}\n${'y'.repeat(2 << 20)}`;
    const text = `a,1\n${mb},2\n"${huge}",4\n${mb},8\n"${huge}",16\nb,32`;
    const input = file('big-keys.csv', text);
    const expected = new Map([['a', ['1', '1']], [mb, ['2', '10']], [huge, ['2', '20']], ['b', ['1', '32']]]);
    const fromFile = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'count,sum']);
    expect(parseCsvOutput(fromFile.stdout.toString())).toEqual({ header: 'key,count,sum', rows: expected });
    const fromStdin = await runCli(['aggregate', '--input', '-', '--key', '0', '--value', '1', '--agg', 'count,sum', '--workers', '2'], { stdin: Buffer.from(text) });
    expect(parseCsvOutput(fromStdin.stdout.toString())).toEqual({ header: 'key,count,sum', rows: expected });
  });

  it('quotes output keys per RFC 4180 when they hold commas, quotes, CR or LF', async () => {
    const input = file('quote.csv', '"x,y",1\r\n"say ""hi""",2\r\n"two\nlines",3\r\n"cr\rin",4\r\nplain"mid,5\r\n');
    const r = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum']);
    expect(r.code).toBe(0);
    const text = r.stdout.toString();
    for (const row of ['"x,y",1\n', '"say ""hi""",2\n', '"two\nlines",3\n', '"cr\rin",4\n', '"plain""mid",5\n']) expect(text).toContain(row);
    expect(text.length).toBe('key,sum\n'.length + 8 + 15 + 14 + 10 + 15);
  });

  it('prints JavaScript shortest round-trip numbers: exponents, tiny and huge values', async () => {
    const input = file(
      'nums.csv',
      'a,1e21\nb,1e-7\nc,0.1\nc,0.2\nd,123456789012345678901234567890\ne,1e400\nf,-1e400\ng,2.2250738585072014e-308\nh,1e308\nh,-1e400\nh,1e400\ni,-0\nj,1e-400\n',
    );
    const r = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum,min,max']);
    expect(lines(r.stdout).rows).toEqual([
      'a,1e+21,1e+21,1e+21',
      'b,1e-7,1e-7,1e-7',
      'c,0.30000000000000004,0.1,0.2',
      'd,1.2345678901234568e+29,1.2345678901234568e+29,1.2345678901234568e+29',
      'e,Infinity,Infinity,Infinity',
      'f,-Infinity,-Infinity,-Infinity',
      'g,2.2250738585072014e-308,2.2250738585072014e-308,2.2250738585072014e-308',
      'h,NaN,-Infinity,Infinity',
      'i,0,0,0',
      'j,0,0,0',
    ]);
  });

  it('repeats a column for an aggregation given twice; a lone CR is data, not a line end', async () => {
    const input = file('cr.csv', 'a,1\rb,2\na\rb,3\r\nc,4\r');
    const r = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum,count,sum', '--on-error', 'skip']);
    expect([r.code, r.stderr]).toEqual([0, 'sluice: skipped 1 bad record\n']); // value "1\rb" of line 1
    expect(parseCsvOutput(r.stdout.toString())).toEqual({ header: 'key,sum,count,sum', rows: new Map([['a\rb', ['3', '1', '3']], ['c', ['4', '1', '4']]]) });
  });

  it('writes --out atomically and prints nothing on stdout', async () => {
    const { dir: outDir, remove: rm } = tempDir();
    try {
      const input = file('o.csv', 'k,1\nk,2\n');
      const out = path.join(outDir, 'result.csv');
      const r = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'max', '--out', out]);
      expect([r.code, r.stdout.length, r.stderr]).toEqual([0, 0, '']);
      expect(readFileSync(out, 'utf8')).toBe('key,max\nk,2\n');
      expect(readdirSync(outDir)).toEqual(['result.csv']);
    } finally {
      rm();
    }
  });

  it('Ctrl-C or SIGTERM during the final write of --out leaves neither the file nor its temporary file', async () => {
    for (const [signal, extra] of [['SIGINT', []], ['SIGTERM', ['--checkpoint', 'ckpt']]] as const) {
      const { dir: outDir, remove: rm } = tempDir();
      try {
        const input = file('sig.csv', 'k,1\nk,2\n');
        const out = path.join(outDir, 'result.csv');
        const job = startCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'max', '--out', out, ...extra], {
          cwd: outDir,
          env: { SLUICE_TEST_OUT_PAUSE_MS: '10000' },
        });
        expect(await job.waitFor(/sluice-test: writing .*result\.csv\.tmp-\d+/)).toBe(true);
        expect(readdirSync(outDir).filter((n) => n.startsWith('result.csv'))).toHaveLength(1); // the temporary file
        expect(await job.stop(signal)).toBeNull(); // ended by the signal, as without sluice's handler
        expect(readdirSync(outDir).filter((n) => n.startsWith('result.csv'))).toEqual([]);
      } finally {
        rm();
      }
    }
  });

  it('stops with exit 1 and one line on stderr when the reader of stdout goes away (| head)', async () => {
    let text = '';
    for (let i = 0; i < 200_000; i++) text += `key-${i},1\n`;
    const input = file('wide.csv', text);
    const child = spawn(process.execPath, [CLI, 'aggregate', '--input', input, '--key', '0', '--agg', 'count'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy()); // like `head -1`: read a little, then close the pipe
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect([code, stderr]).toEqual([1, 'sluice: cannot write the result to standard output: its reader closed it (EPIPE)\n']);
  });

  it('streams stdin with --input - (records split across reads)', async () => {
    const text = 'a,1\n"b\nb",2\r\na,3\nc,4';
    const bytes = Buffer.from(text);
    const pieces = [...Array(bytes.length).keys()].map((i) => bytes.subarray(i, i + 1));
    const r = await runCli(['aggregate', '--input', '-', '--key', '0', '--value', '1', '--agg', 'count,sum'], { stdin: pieces });
    expect(r.code).toBe(0);
    expect(parseCsvOutput(r.stdout.toString())).toEqual({
      header: 'key,count,sum',
      rows: new Map([
        ['a', ['2', '4']],
        ['b\nb', ['1', '2']],
        ['c', ['1', '4']],
      ]),
    });
    const jsonl = await runCli(['aggregate', '--input', '-', '--format', 'jsonl', '--key', 'k', '--agg', 'count'], {
      stdin: [Buffer.from('{"k":"x"}\n{"k"'), Buffer.from(':"x"}\n{"k":"y"}')],
    });
    expect(lines(jsonl.stdout)).toEqual({ header: 'key,count', rows: ['x,2', 'y,1'] });
  });
});

describe.concurrent('sluice aggregate: bad records', () => {
  // line 1; lines 2-3 (one record with a newline in its key); line 4 bad; line 5 blank; line 6 bad
  const text = 'a,1\n"b\nb",2\nc,abc\n\nd,\ne,5\n';

  it('--on-error fail (the default): exit 1, names the physical line and the reason, creates no --out file', async () => {
    const { dir: outDir, remove: rm } = tempDir();
    try {
      const input = file('bad.csv', text);
      const out = path.join(outDir, 'result.csv');
      const r = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--out', out]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`sluice: bad record at line 4 of ${input}: value "abc" in column 1 is not a decimal number\n`);
      expect(r.stdout.length).toBe(0);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(outDir)).toEqual([]); // no temp file left either
      // an --out file that exists is left as it was
      writeFileSync(out, 'key,sum\nold,1\n');
      const again = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--out', out, '--workers', '2', '--batch-size', '1']);
      expect([again.code, readFileSync(out, 'utf8'), readdirSync(outDir)]).toEqual([1, 'key,sum\nold,1\n', ['result.csv']]);
    } finally {
      rm();
    }
  });

  it('--on-error fail names the first line of a bad record that spans lines, with workers and tiny batches', async () => {
    const input = file('span.csv', 'a,1\n"x\ny\r\nz",2\n"p\nq",abc\nb,zz\n');
    for (const [w, b] of [['0', '1'], ['2', '1'], ['2', '1000']]) {
      const r = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--workers', w!, '--batch-size', b!]);
      expect([r.code, r.stdout.length, r.stderr]).toEqual([1, 0, `sluice: bad record at line 5 of ${input}: value "abc" in column 1 is not a decimal number\n`]);
    }
  });

  it('--on-error fail counts lines after the header and through CRLF; JSONL names the field', async () => {
    const csv = file('h.csv', 'k,v\r\n\r\nx,1\r\ny,"2"x\r\n');
    const r = await runCli(['aggregate', '--input', csv, '--header', '--key', 'k', '--value', 'v', '--agg', 'sum', '--on-error', 'fail']);
    expect([r.code, r.stderr]).toEqual([1, `sluice: bad record at line 4 of ${csv}: text after the closing quote of column 1 ("v")\n`]);
    const jl = file('f.jsonl', '{"k":"a","v":1}\n{"k":"a","v":"1_000"}\n');
    const j = await runCli(['aggregate', '--input', jl, '--key', 'k', '--value', 'v', '--agg', 'sum']);
    expect([j.code, j.stderr]).toEqual([1, `sluice: bad record at line 2 of ${jl}: field "v" is not a decimal number: "1_000"\n`]);
  });

  it('a malformed --header line stops the job under every policy: exit 1, its line and what is wrong', async () => {
    const quoted = file('bad-header.csv', '\r\n"page"x,ms\n/a,1\n');
    const q = await runCli(['aggregate', '--input', quoted, '--header', '--key', 'ms', '--agg', 'count', '--on-error', 'skip']);
    expect([q.code, q.stdout.length, q.stderr]).toEqual([1, 0, `sluice: bad record at line 2 of ${quoted}: the header line has a quoting error in column 0\n`]);
    const utf8 = file('utf8-header.csv', Buffer.from([0x70, 0xff, 0x2c, 0x6d, 0x0a, 0x61, 0x2c, 0x31, 0x0a]));
    const u = await runCli(['aggregate', '--input', '-', '--header', '--key', '1', '--agg', 'count'], { stdin: readFileSync(utf8) });
    expect([u.code, u.stdout.length, u.stderr]).toEqual([1, 0, 'sluice: bad record at line 1 of stdin: the header line is not valid UTF-8\n']);
  });

  it('--header on an input with no record at all gives the empty result', async () => {
    for (const text of ['', '\n\r\n']) {
      const input = file('no-header.csv', text);
      const r = await runCli(['aggregate', '--input', input, '--header', '--key', 'page', '--value', 'ms', '--agg', 'count,sum']);
      expect([r.code, r.stderr, r.stdout.toString()]).toEqual([0, '', 'key,count,sum\n']);
    }
  });

  it('--on-error skip: aggregates the good records and reports the count on stderr', async () => {
    const input = file('skip.csv', text);
    const r = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'count,sum', '--on-error', 'skip']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('sluice: skipped 2 bad records\n');
    expect(parseCsvOutput(r.stdout.toString())).toEqual({
      header: 'key,count,sum',
      rows: new Map([
        ['a', ['1', '1']],
        ['b\nb', ['1', '2']],
        ['e', ['1', '5']],
      ]),
    });
  });

  it('skip and dead-letter report the count of bad records on stderr also when it is 0', async () => {
    const input = file('clean.csv', 'a,1\n');
    const dead = path.join(dir, 'dead-none.jsonl');
    const skip = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--on-error', 'skip']);
    expect([skip.code, skip.stderr, skip.stdout.toString()]).toEqual([0, 'sluice: skipped 0 bad records\n', 'key,sum\na,1\n']);
    const dl = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--on-error', `dead-letter:${dead}`]);
    expect([dl.code, dl.stderr, readFileSync(dead, 'utf8')]).toEqual([0, `sluice: wrote 0 bad records to ${dead}\n`, '']);
  });

  it('--on-error dead-letter:<path>: one JSON line {line, reason, raw} per bad record, in input order', async () => {
    const dead = path.join(dir, 'dead.jsonl');
    const input = file(
      'dl.csv',
      Buffer.concat([Buffer.from(text), Buffer.from('f\r\n"g"h,1\r\ni,0x10\r\nj,NaN\nk,"1""0"\n'), Buffer.from([0x6c, 0xff, 0x2c, 0x31, 0x0a]), Buffer.from('"m,1\n')]),
    );
    const r = await runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'sum', '--on-error', `dead-letter:${dead}`]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe(`sluice: wrote 9 bad records to ${dead}\n`);
    expect(parseCsvOutput(r.stdout.toString()).rows).toEqual(
      new Map([
        ['a', ['1']],
        ['b\nb', ['2']],
        ['e', ['5']],
      ]),
    );
    const entries = readFileSync(dead, 'utf8').split('\n');
    expect(entries.pop()).toBe('');
    expect(entries.map((e) => JSON.parse(e))).toEqual([
      { line: 4, reason: 'value "abc" in column 1 is not a decimal number', raw: 'c,abc' },
      { line: 6, reason: 'the value in column 1 is empty', raw: 'd,' },
      { line: 8, reason: 'column 1 is missing (the record has 1 column)', raw: 'f' },
      { line: 9, reason: 'text after the closing quote of column 0', raw: '"g"h,1' },
      { line: 10, reason: 'value "0x10" in column 1 is not a decimal number', raw: 'i,0x10' },
      { line: 11, reason: 'value "NaN" in column 1 is not a decimal number', raw: 'j,NaN' },
      { line: 12, reason: 'value "1\\"0" in column 1 is not a decimal number', raw: 'k,"1""0"' },
      { line: 13, reason: 'invalid UTF-8 at byte 2 of the record', raw: 'l\uFFFD,1' },
      { line: 14, reason: 'the quoted field in column 0 is not closed before the end of the input', raw: '"m,1\n' },
    ]);
  });

  it('dead-letters each kind of bad JSONL line with its reason', async () => {
    const dead = path.join(dir, 'dead-json.jsonl');
    const input = file(
      'kinds.jsonl',
      Buffer.concat([
        Buffer.from('{"k":"a","v":1}\n{"k":"b"}\n{"v":1}\n[1]\n{"k":\n{"k":null,"v":1}\n{"k":"x","v":"abc"}\n{"k":"\\ud800","v":1}\n'),
        Buffer.from([...Buffer.from('{"k":"'), 0xc3, ...Buffer.from('","v":1}\n')]),
        Buffer.from('{"k":"y","v":"2.5"}\n{"k":"z","v":null}\n{"k":{"n":1},"v":1}\n'),
      ]),
    );
    const r = await runCli(['aggregate', '--input', input, '--key', 'k', '--value', 'v', '--agg', 'sum', '--on-error', `dead-letter:${dead}`]);
    expect([r.code, r.stderr]).toEqual([0, `sluice: wrote 10 bad records to ${dead}\n`]);
    expect(lines(r.stdout).rows).toEqual(['a,1', 'y,2.5']);
    expect(readFileSync(dead, 'utf8').trimEnd().split('\n').map((e) => JSON.parse(e))).toEqual([
      { line: 2, reason: 'field "v" is missing', raw: '{"k":"b"}' },
      { line: 3, reason: 'field "k" is missing', raw: '{"v":1}' },
      { line: 4, reason: 'the line is an array, not a JSON object', raw: '[1]' },
      { line: 5, reason: 'invalid JSON: the line ends where a value is expected at column 6', raw: '{"k":' },
      { line: 6, reason: 'field "k" is null: a key must be a string, a number or a boolean', raw: '{"k":null,"v":1}' },
      { line: 7, reason: 'field "v" is not a decimal number: "abc"', raw: '{"k":"x","v":"abc"}' },
      { line: 8, reason: 'field "k" holds an unpaired surrogate escape (\\uD800-\\uDFFF), which has no UTF-8 form', raw: '{"k":"\\ud800","v":1}' },
      { line: 9, reason: 'invalid UTF-8 at byte 7 of the line', raw: '{"k":"\uFFFD","v":1}' },
      { line: 11, reason: 'field "v" is not a decimal number: null', raw: '{"k":"z","v":null}' },
      { line: 12, reason: 'field "k" is an object: a key must be a string, a number or a boolean', raw: '{"k":{"n":1},"v":1}' },
    ]);
  });
});

describe.concurrent('sluice aggregate: usage errors exit 2 and name the option', () => {
  // commander's own messages name the option with its argument placeholder, e.g. '--key <col>'
  const cases: Array<[string, string[], string | RegExp]> = [
    ['missing --input', ['--key', '0', '--agg', 'count'], /^error: required option '--input <[^>]+>' not specified\n$/],
    ['missing --key', ['--input', 'x.csv', '--agg', 'count'], /^error: required option '--key <[^>]+>' not specified\n$/],
    ['missing --agg', ['--input', 'x.csv', '--key', '0'], /^error: required option '--agg <[^>]+>' not specified\n$/],
    ['bad --agg', ['--input', 'x.csv', '--key', '0', '--agg', 'count,median'], 'sluice: --agg: unknown aggregation "median" (use a comma list of count,sum,min,max,avg)\n'],
    ['--value missing for sum', ['--input', 'x.csv', '--key', '0', '--agg', 'count,sum,avg'], 'sluice: --value is required for --agg sum,avg\n'],
    ['bad --on-error', ['--input', 'x.csv', '--key', '0', '--agg', 'count', '--on-error', 'ignore'], 'sluice: --on-error must be fail, skip or dead-letter:<path>, got "ignore"\n'],
    ['empty dead-letter path', ['--input', 'x.csv', '--key', '0', '--agg', 'count', '--on-error', 'dead-letter:'], 'sluice: --on-error must be fail, skip or dead-letter:<path>, got "dead-letter:"\n'],
    ['--workers abc', ['--input', 'x.csv', '--key', '0', '--agg', 'count', '--workers', 'abc'], 'sluice: --workers must be an integer from 0 to 256, got "abc"\n'],
    ['--batch-size 0', ['--input', 'x.csv', '--key', '0', '--agg', 'count', '--batch-size', '0'], 'sluice: --batch-size must be an integer from 1 to 16777216, got "0"\n'],
    ['--batch-size too large for the memory', ['--input', 'x.csv', '--key', '0', '--agg', 'count', '--batch-size', '16777217'], 'sluice: --batch-size must be an integer from 1 to 16777216, got "16777217"\n'],
    ['--workers -1', ['--input', 'x.csv', '--key', '0', '--agg', 'count', '--workers', '-1'], 'sluice: --workers must be an integer from 0 to 256, got "-1"\n'],
    ['--agg empty', ['--input', 'x.csv', '--key', '0', '--agg', ''], 'sluice: --agg <list> is required (count,sum,min,max,avg)\n'],
    ['--agg with an empty item', ['--input', 'x.csv', '--key', '0', '--agg', 'count,'], 'sluice: --agg: unknown aggregation "" (use a comma list of count,sum,min,max,avg)\n'],
    ['--value empty', ['--input', 'x.csv', '--key', '0', '--value', '', '--agg', 'sum'], 'sluice: --value <col> must not be empty\n'],
    ['--key index beyond what a column index can be', ['--input', 'x.csv', '--key', '99999999999999999999', '--agg', 'count'], 'sluice: --key must be a column index from 0 to 2147483647, got "99999999999999999999"\n'],
    ['--value index beyond what a column index can be', ['--input', 'x.csv', '--key', '0', '--value', '2147483648', '--agg', 'sum'], 'sluice: --value must be a column index from 0 to 2147483647, got "2147483648"\n'],
    ['--out empty', ['--input', 'x.csv', '--key', '0', '--agg', 'count', '--out', ''], 'sluice: --out must be a file path, or - for standard output\n'],
    ['dead-letter file is the input', ['--input', 'x.csv', '--key', '0', '--agg', 'count', '--on-error', 'dead-letter:./x.csv'], 'sluice: --on-error dead-letter:./x.csv is the --input file; write bad records to another file\n'],
    ['dead-letter file is the output', ['--input', 'x.csv', '--key', '0', '--agg', 'count', '--out', 'r.csv', '--on-error', 'dead-letter:r.csv'], 'sluice: --on-error dead-letter:r.csv is the --out file; write bad records to another file\n'],
    ['--header with JSON lines', ['--input', 'x.jsonl', '--header', '--key', 'k', '--agg', 'count'], 'sluice: --header applies only to --format csv\n'],
    ['unknown option', ['--input', 'x.csv', '--key', '0', '--agg', 'count', '--bogus'], /^error: unknown option '--bogus'\n$/],
    ['an option without its argument', ['--input', 'x.csv', '--key', '0', '--agg', 'count', '--on-error'], /^error: option '--on-error <[^>]+>' argument missing\n$/],
    ['a stray argument', ['--input', 'x.csv', '--key', '0', '--agg', 'count', 'extra'], /^error: too many arguments for 'aggregate'/],
    ['bad --format', ['--input', 'x.csv', '--key', '0', '--agg', 'count', '--format', 'xml'], /^error: option '--format <[^>]+>' argument 'xml' is invalid\. Allowed choices are csv, jsonl\.\n$/],
    ['CSV --key not an index', ['--input', 'x.csv', '--key', 'name', '--agg', 'count'], 'sluice: --key must be a 0-based column index for CSV without --header, got "name"\n'],
  ];
  for (const [name, args, stderr] of cases) {
    it(name, async () => {
      const r = await runCli(['aggregate', ...args], { cwd: dir });
      expect([r.code, r.stdout.length]).toEqual([2, 0]);
      if (typeof stderr === 'string') expect(r.stderr).toBe(stderr);
      else expect(r.stderr).toMatch(stderr);
    });
  }

  it('unknown --key / --value header name', async () => {
    const input = file('hdr.csv', 'city,amount\nParis,1\n');
    const k = await runCli(['aggregate', '--input', input, '--header', '--key', 'town', '--agg', 'count']);
    expect([k.code, k.stderr]).toEqual([2, 'sluice: --key "town" is not a column of the header (columns: "city", "amount")\n']);
    const v = await runCli(['aggregate', '--input', input, '--header', '--key', 'city', '--value', 'amt', '--agg', 'sum']);
    expect([v.code, v.stderr]).toEqual([2, 'sluice: --value "amt" is not a column of the header (columns: "city", "amount")\n']);
  });

  it('a header name that several columns have is ambiguous; their indexes still work', async () => {
    const input = file('dup-header.csv', 'page,ms,page\n/a,1,/x\n/b,2,/y\n');
    const k = await runCli(['aggregate', '--input', input, '--header', '--key', 'page', '--value', 'ms', '--agg', 'sum']);
    expect([k.code, k.stdout.length, k.stderr]).toEqual([
      2,
      0,
      'sluice: --key "page" is ambiguous: columns 0 and 2 of the header have that name (give the 0-based index of one)\n',
    ]);
    const byIndex = await runCli(['aggregate', '--input', input, '--header', '--key', '2', '--value', 'ms', '--agg', 'sum']);
    expect(lines(byIndex.stdout)).toEqual({ header: 'key,sum', rows: ['/x,1', '/y,2'] });
  });

  it('--version prints the version of package.json, --help exits 0', async () => {
    const { version } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const v = await runCli(['--version'], { cwd: dir });
    expect([v.code, v.stdout.toString()]).toEqual([0, `${version}\n`]);
    const h = await runCli(['aggregate', '--help'], { cwd: dir });
    expect(h.code).toBe(0);
    expect(h.stdout.toString()).toContain('--on-error <policy>');
  });

  it('a missing input file exits 1', async () => {
    const missing = path.join(dir, 'no-such.csv');
    const r = await runCli(['aggregate', '--input', missing, '--key', '0', '--agg', 'count']);
    expect([r.code, r.stderr]).toEqual([1, `sluice: cannot read ${missing}: no such file\n`]);
  });
});

describe('sluice aggregate: results do not depend on --workers or --batch-size', () => {
  it('--workers 0 and 2, --batch-size 1, 7 and the default give the same rows as the reference', async () => {
    // skewed keys, CRLF, quoted keys and values whose sums depend on the order of addition
    let text = '';
    for (let i = 0; i < 3000; i++) {
      const key = i % 3 === 0 ? 'hot' : i % 7 === 0 ? `"q,${i % 5}"` : `k${(i * 31) % 97}`;
      text += `${key},${((i * 7919) % 1000) / 7}e-1${i % 4 === 0 ? '\r\n' : '\n'}`;
    }
    text += 'bad,x\n';
    const input = file('many.csv', text);
    const expected = aggregateReference(Buffer.from(text), { format: 'csv', key: '0', value: '1', aggs: ['count', 'sum', 'avg', 'min', 'max'], onError: 'skip' });
    if (!expected.ok) throw new Error('unreachable');
    const runs = await Promise.all(
      [['0'], ['2'], ['0', '1'], ['2', '1'], ['0', '7'], ['2', '7']].map(([w, b]) =>
        runCli(['aggregate', '--input', input, '--key', '0', '--value', '1', '--agg', 'count,sum,avg,min,max', '--on-error', 'skip', '--workers', w!, ...(b ? ['--batch-size', b] : [])]),
      ),
    );
    for (const r of runs) {
      expect([r.code, r.stderr]).toEqual([0, 'sluice: skipped 1 bad record\n']);
      expect(parseCsvOutput(r.stdout.toString())).toEqual({ header: expected.header, rows: expected.rows });
    }
  });
});
