import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/cli/demo.js';

const dir = mkdtempSync(join(tmpdir(), 'sluice-demo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('runDemo', () => {
  it('runs 2 s without a TTY: a plain line per batch, every batch saved under out/', async () => {
    let text = '';
    const out = join(dir, 'out');
    const summary = await runDemo({
      seconds: 2,
      out,
      tty: false,
      stdout: { write: (s: string) => void (text += s) },
      ratePerSecond: 2000,
      workers: 0,
      batchInterval: 500,
    });
    const lines = text.trimEnd().split('\n');
    expect(lines.length).toBe(summary.batches);
    expect(summary.batches).toBeGreaterThanOrEqual(2);
    for (const line of lines) expect(line).toMatch(/^batch \d+ \d\d:\d\d:\d\d: \d+ visits, \d+ total, \d+ pages, top \/\S*=\d+/);
    expect(text).not.toContain('\x1b[');

    const dirs = readdirSync(out);
    const totals = dirs.filter((d) => /^page-totals-\d+\.csv$/.test(d)).sort();
    expect(totals).toHaveLength(summary.batches);
    expect(dirs.filter((d) => /^page-time-\d+\.csv$/.test(d))).toHaveLength(summary.batches);
    expect(dirs.filter((d) => d.startsWith('.'))).toEqual([]); // no temporary directory left
    for (const d of totals) expect(existsSync(join(out, d, '_SUCCESS'))).toBe(true);
    // The last running totals count every visit.
    const last = readFileSync(join(out, totals[totals.length - 1]!, 'part-00000'), 'utf8').trim().split('\n');
    const views = last.reduce((n, line) => n + Number(line.slice(line.lastIndexOf(',') + 1)), 0);
    expect(views).toBe(summary.visits);
    expect(summary.visits).toBeGreaterThan(0);
  });

  it('redraws a table in place on a TTY', async () => {
    let text = '';
    await runDemo({
      seconds: 1,
      out: join(dir, 'tty'),
      tty: true,
      stdout: { write: (s: string) => void (text += s) },
      ratePerSecond: 1000,
      workers: 0,
      batchInterval: 250,
    });
    expect(text.startsWith('\x1b[?25l\x1b[H\x1b[2J')).toBe(true);
    expect(text).toContain('\x1b[H');
    expect(text).toMatch(/ 1 {2}\/ +\d+/);
    expect(text.endsWith('\x1b[?25h')).toBe(true);
  });
});
