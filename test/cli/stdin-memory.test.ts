// `sluice aggregate --input -` streams stdin in bounded memory: the process's RSS stays flat while
// hundreds of MB are piped through it, so memory is set by the state, not the input (a 20 GB input runs).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';

const MB = 1 << 20;
const TOTAL = 640 * MB;
/** RSS is sampled after every SAMPLE bytes written; the first WARM_UP bytes fill the pool, tables and buffers. */
const SAMPLE = 32 * MB;
const WARM_UP = 256 * MB;

/** Resident set size of a process, from /proc (Linux). */
function rss(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
}

describe('sluice aggregate --input - memory', () => {
  it.runIf(existsSync('/proc/self/status'))(
    'keeps RSS flat while 640 MB of CSV is piped through stdin (10,000 keys)',
    async () => {
      const child = spawn(process.execPath, [CLI, 'aggregate', '--input', '-', '--key', '0', '--value', '1', '--agg', 'count,sum', '--workers', '2'], {
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const closed = new Promise<number | null>((resolve) => child.on('close', resolve));

      let text = '';
      for (let i = 0; i < 50_000; i++) text += `page/${(i * 7919) % 10_000},${i % 1000}.25\n`;
      const block = Buffer.from(text); // 50,000 lines, each key 5 times
      const samples: Array<{ written: number; rss: number }> = [];
      let written = 0;
      while (written < TOTAL) {
        if (!child.stdin.write(block)) await new Promise((r) => child.stdin.once('drain', r));
        written += block.length;
        // sampled by bytes written, never by time: the pipe's backpressure keeps the reader close behind
        if (Math.floor(written / SAMPLE) > Math.floor((written - block.length) / SAMPLE)) samples.push({ written, rss: rss(child.pid!) });
      }
      child.stdin.end();
      expect([await closed, err]).toEqual([0, '']);

      const blocks = Math.ceil(TOTAL / block.length);
      const rows = out.trimEnd().split('\n');
      expect(rows[0]).toBe('key,count,sum');
      expect(rows.length - 1).toBe(10_000);
      expect(rows.reduce((n, r, i) => (i === 0 ? n : n + Number(r.split(',')[1])), 0)).toBe(blocks * 50_000);

      const base = samples.find((s) => s.written >= WARM_UP)!;
      const after = samples.filter((s) => s.written > base.written);
      const growth = Math.max(...after.map((s) => s.rss)) - base.rss;
      // 384 MB more input after the warm-up: holding on to any of it would show; allocator noise stays far below
      expect(after.length).toBeGreaterThan(8);
      expect(growth).toBeLessThan(64 * MB);
    },
    180_000,
  );
});
