// `sluice demo` through the real binary: its option errors, ./out layout, --seconds and Ctrl-C.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, tempDir } from '../helpers/cli.js';

let dir: string;
let remove: () => void;
beforeAll(() => ({ dir, remove } = tempDir('sluice-demo-cli-')));
afterAll(() => remove());

/** The batch directories under `out` and their files; asserts Spark's layout and that each is complete. */
function batches(out: string): { totals: string[]; times: string[] } {
  const names = readdirSync(out).sort();
  expect(names.filter((n) => !/^page-(totals|time)-\d+\.csv$/.test(n))).toEqual([]); // nothing else, no temporary directory
  for (const n of names) expect(readdirSync(path.join(out, n)).sort()).toEqual(['_SUCCESS', 'part-00000']);
  return { totals: names.filter((n) => n.startsWith('page-totals-')), times: names.filter((n) => n.startsWith('page-time-')) };
}

describe.concurrent('sluice demo', () => {
  const usage: Array<[string[], string]> = [
    [['--seconds', '0'], 'sluice: --seconds must be a positive number, got "0"\n'],
    [['--seconds', 'soon'], 'sluice: --seconds must be a positive number, got "soon"\n'],
    [['--rate', '2.5'], 'sluice: --rate must be a positive integer, got "2.5"\n'],
    [['--workers', '-1'], 'sluice: --workers must be an integer from 0 to 256, got "-1"\n'],
    [['--out', ''], 'sluice: --out must be a directory path\n'],
  ];
  for (const [args, stderr] of usage) {
    it(`usage error: ${args.join(' ')}`, async () => {
      const r = await runCli(['demo', ...args], { cwd: dir });
      expect([r.code, r.stdout.length, r.stderr]).toEqual([2, 0, stderr]);
    });
  }

  it('--seconds 2: plain lines on a pipe, every batch saved under ./out in Spark layout, then exit 0', async () => {
    const cwd = path.join(dir, 'seconds');
    mkdirSync(cwd);
    const r = await runCli(['demo', '--seconds', '2', '--rate', '2000', '--workers', '0'], { cwd });
    expect(r.code).toBe(0);
    const lines = r.stdout.toString().trimEnd().split('\n');
    for (const line of lines) expect(line).toMatch(/^batch \d+ \d\d:\d\d:\d\d: \d+ visits, \d+ total, \d+ pages, top \/\S*=\d+/);
    expect(r.stdout.toString()).not.toContain('\x1b[');
    const m = /^sluice demo: (\d+) batches, (\d+) visits, (\d+) pages; saved under \.\/out\n$/.exec(r.stderr);
    expect(m).not.toBeNull();
    const { totals, times } = batches(path.join(cwd, 'out'));
    expect(totals.length).toBe(Number(m![1]));
    expect(times.length).toBe(totals.length);
    expect(lines.length).toBe(totals.length);
    // the last running totals hold every visit
    const last = readFileSync(path.join(cwd, 'out', totals.at(-1)!, 'part-00000'), 'utf8').trimEnd().split('\n');
    expect(last.reduce((n, l) => n + Number(l.slice(l.lastIndexOf(',') + 1)), 0)).toBe(Number(m![2]));
  });

  it('Ctrl-C (SIGINT) stops it gracefully: the batch in progress is saved, exit 0', async () => {
    const cwd = path.join(dir, 'sigint');
    mkdirSync(cwd);
    const child = spawn(process.execPath, [CLI, 'demo', '--rate', '2000', '--workers', '0', '--out', 'o'], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const firstBatch = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('\n')) resolve();
      }),
    );
    await firstBatch; // running: one batch done
    child.kill('SIGINT');
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    const m = /^sluice demo: (\d+) batches, (\d+) visits, \d+ pages; saved under o\n$/.exec(stderr);
    expect(m).not.toBeNull();
    expect(existsSync(path.join(cwd, 'out'))).toBe(false);
    expect(batches(path.join(cwd, 'o')).totals.length).toBe(Number(m![1]));
  });
});
