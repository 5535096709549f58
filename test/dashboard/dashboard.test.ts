// `sluice demo --dashboard`: the live page in a real headless Chromium, checked against the batches the demo saved.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, tempDir } from '../helpers/cli.js';
import { describeBrowser, launchChromium } from '../helpers/browser.js';
import { Dashboard } from '../../src/cli/dashboard.js';

let dir: string;
let remove: () => void;
beforeAll(() => ({ dir, remove } = tempDir('sluice-dashboard-')));
afterAll(() => remove());

/** page -> number, from a saved batch directory's part-00000 (`page,n` lines). */
function readBatch(file: string): Map<string, number> {
  const rows = new Map<string, number>();
  for (const line of readFileSync(path.join(file, 'part-00000'), 'utf8').split('\n')) {
    if (line === '') continue;
    const comma = line.lastIndexOf(',');
    rows.set(line.slice(0, comma), Number(line.slice(comma + 1)));
  }
  return rows;
}

/** The demo's own formatting of an average time on page. */
function duration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = s / 60;
  return m < 60 ? `${m.toFixed(1)} min` : `${(m / 60).toFixed(1)} h`;
}

/** Starts `sluice demo ... --dashboard 0` and resolves with the dashboard's address from its stderr. */
function startDemo(cwd: string): { child: ChildProcess; url: Promise<string>; stderr: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, 'demo', '--rate', '2000', '--workers', '0', '--out', 'o', '--dashboard', '0'], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve));
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      const m = /^sluice demo: dashboard at (http:\/\/127\.0\.0\.1:\d+\/)\n/m.exec(stderr);
      if (m) resolve(m[1]!);
    });
    void exit.then(() => reject(new Error(`sluice demo exited before its dashboard listened: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr, exit };
}

describeBrowser('sluice demo --dashboard, in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => void (browser = await launchChromium()), 120_000);
  afterAll(async () => browser?.close());

  it('shows every batch live, and after Ctrl-C the final totals the demo saved, exactly', async () => {
    const cwd = path.join(dir, 'live');
    (await import('node:fs')).mkdirSync(cwd);
    const demo = startDemo(cwd);
    const url = await demo.url;
    const page = await browser.newPage();
    await page.goto(url);
    await expect(page.title()).resolves.toBe('sluice website monitor');
    // live: batches arrive and the table fills
    await page.waitForFunction(() => Number(document.getElementById('batches')!.textContent!.replace(/,/g, '')) >= 2, undefined, { timeout: 60_000 });
    expect(await page.textContent('#status')).toBe('live');
    expect(await page.locator('#top tbody tr').count()).toBe(10);
    expect(await page.locator('#chart rect').count()).toBeGreaterThanOrEqual(2);
    const snapshot = (await (await fetch(new URL('/snapshot.json', url))).json()) as { batches: number; source: string; out: string };
    expect([snapshot.source, snapshot.out]).toEqual(['generator', 'o']);
    expect((await fetch(new URL('/nothing', url))).status).toBe(404);

    demo.child.kill('SIGINT');
    expect(await demo.exit).toBe(0);
    await page.waitForFunction(() => document.getElementById('status')!.textContent === 'ended', undefined, { timeout: 30_000 });

    const m = /\nsluice demo: (\d+) batches, (\d+) visits, (\d+) pages; saved under o\n$/.exec(demo.stderr());
    expect(m).not.toBeNull();
    const [batches, visits, pages] = [Number(m![1]), Number(m![2]), Number(m![3])];
    const num = async (id: string): Promise<number> => Number((await page.textContent(`#${id}`))!.replace(/,/g, ''));
    expect([await num('batches'), await num('visits'), await num('pages')]).toEqual([batches, visits, pages]);
    expect(await page.textContent('#source')).toBe('generator');

    // the table: the top 10 of the last running totals, the last batch's own views, the average time
    const out = path.join(cwd, 'o');
    const names = readdirSync(out).sort();
    const totals = names.filter((n) => n.startsWith('page-totals-'));
    const times = names.filter((n) => n.startsWith('page-time-'));
    expect(totals.length).toBe(batches);
    const last = readBatch(path.join(out, totals.at(-1)!));
    const before = totals.length > 1 ? readBatch(path.join(out, totals.at(-2)!)) : new Map<string, number>();
    const time = readBatch(path.join(out, times.at(-1)!));
    const expected = [...last]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 10)
      .map(([p, n], i) => [String(i + 1), p, n.toLocaleString('en-US'), (n - (before.get(p) ?? 0)).toLocaleString('en-US'), duration(time.get(p)! / n)]);
    const shown = await page.$$eval('#top tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(shown).toEqual(expected);
    await page.close();
  }, 180_000);

  it('a page opened late gets the newest batch at once; page names are text, never markup', async () => {
    const dashboard = await Dashboard.start(0);
    const hostile = '<img src=x onerror="document.title=\'owned\'">';
    const row = (page: string, views: number) => ({ page, views, batchViews: 1, avgMs: 1500 });
    try {
      for (let b = 1; b <= 3; b++) {
        dashboard.publish({
          batches: b, time: 1_700_000_000_000 + b * 1000, records: 10 * b, processingMs: 2.5, visits: 60, pages: 2,
          source: 'Kafka topic website_logs', out: '<b>out</b>', top: [row(hostile, 40), row('"a,b"\n', 20)],
        });
      }
      const page = await browser.newPage();
      await page.goto(dashboard.url);
      await page.waitForFunction(() => document.getElementById('batches')!.textContent === '3', undefined, { timeout: 30_000 });
      const shown = await page.$$eval('#top tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
      expect(shown).toEqual([['1', hostile, '40', '1', '1.5 s'], ['2', '"a,b"\n', '20', '1', '1.5 s']]);
      expect(await page.locator('img, #out *, #top td *').count()).toBe(0);
      expect(await page.title()).toBe('sluice website monitor');
      expect([await page.textContent('#source'), await page.textContent('#out'), await page.locator('#chart rect').count()]).toEqual([
        'Kafka topic website_logs', '<b>out</b>', 3,
      ]);
      await dashboard.close();
      await page.waitForFunction(() => document.getElementById('status')!.textContent === 'ended', undefined, { timeout: 30_000 });
      await page.close();
    } finally {
      await dashboard.close();
    }
  }, 120_000);
});

describe.concurrent('sluice demo --dashboard: options and errors', () => {
  for (const raw of ['abc', '70000', '-1', '1.5']) {
    it(`--dashboard ${raw} is a usage error`, async () => {
      const r = await runCli(['demo', '--seconds', '1', '--dashboard', raw], { cwd: dir });
      expect([r.code, r.stderr]).toEqual([2, `sluice: --dashboard must be a port from 0 to 65535 (0: a free one), got "${raw}"\n`]);
    });
  }

  it('a port in use: exit 1 naming the address, nothing saved', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      const cwd = path.join(dir, 'busy');
      (await import('node:fs')).mkdirSync(cwd);
      const r = await runCli(['demo', '--seconds', '1', '--workers', '0', '--dashboard', String(port)], { cwd });
      expect([r.code, r.stderr]).toEqual([1, `sluice: --dashboard: cannot listen on 127.0.0.1:${port}: the port is in use; pass another port, or 0 for a free one\n`]);
      expect(readdirSync(cwd)).toEqual([]);
    } finally {
      server.close();
    }
  });
});
