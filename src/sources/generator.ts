// Synthetic website page visits (the demo's stream), produced straight into columns.
//
// Record i depends only on (seed, i): four 32-bit draws hash(seed, 4i + k), so the stream is the
// same whatever the batch sizes and however fast it is read. Page popularity follows a Zipf law
// (the r-th most popular page has weight 1 / r^skew), as page views on real sites roughly do;
// visit durations are log-normal around a 15 s median. No JS object is made per record: the page
// column is a copy of each page's pre-encoded UTF-8 bytes.

import { OptionError, SluiceError } from '../errors.js';
import { Batch } from '../plan/batch.js';
import type { ColumnTable } from '../plan/columns.js';
import type { Clock } from '../runtime/scheduler.js';
import type { GeneratorOffset, SourceOffset, SourceRange } from '../state/checkpoint-store.js';
import type { Source } from './source.js';

/** One page visit. */
export interface PageVisit {
  /** URL path of the page, e.g. `/docs/page-3`. */
  page: string;
  /** Visitor id, 1..users. */
  userId: number;
  /** Time spent on the page, whole milliseconds (at least 1). */
  durationMs: number;
  /** Event time, ms since the epoch. */
  timestamp: number;
}

export interface GeneratorOptions {
  /** Visits per second of clock time (default 1000); Infinity: as fast as the pipeline takes them. */
  ratePerSecond?: number;
  /** Distinct pages (default 50). */
  pages?: number;
  /** Distinct visitors (default 10,000). */
  users?: number;
  /** Seed: the same seed gives the same visits (default 1). */
  seed?: number;
  /** Zipf exponent of page popularity (default 1.1; 0 makes every page equally popular). */
  skew?: number;
  /** Stop after this many visits (default: never). */
  limit?: number;
}

const SECTIONS = ['/products', '/blog', '/docs', '/help'];
const TOP_PAGES = ['/', '/pricing', '/docs', '/blog', '/about', '/signup', '/login', '/products', '/contact', '/careers'];

/** URL path of the page of popularity rank `r` (0 = most popular). */
export function pagePath(r: number): string {
  if (r < TOP_PAGES.length) return TOP_PAGES[r]!;
  const n = r - TOP_PAGES.length;
  return `${SECTIONS[n % SECTIONS.length]}/${Math.floor(n / SECTIONS.length) + 1}`;
}

/** murmur3's 32-bit finaliser: a bijection that spreads every input bit over the output. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function checkPositive(name: string, value: unknown, integer: boolean, allowInfinity = false): void {
  if (value === undefined) return;
  const ok =
    typeof value === 'number' &&
    value > 0 &&
    (integer ? Number.isSafeInteger(value) : !Number.isNaN(value)) &&
    (allowInfinity || Number.isFinite(value));
  if (!ok) {
    throw new OptionError(name, `options.${name} must be a positive ${integer ? 'integer' : 'number'}`);
  }
}

/** Checks generator options at the public boundary. */
export function validateGeneratorOptions(options: GeneratorOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new OptionError('options', 'generator(options): options must be an object');
  }
  checkPositive('ratePerSecond', options.ratePerSecond, false, true);
  checkPositive('pages', options.pages, true);
  checkPositive('users', options.users, true);
  checkPositive('limit', options.limit, true);
  if (options.seed !== undefined && !Number.isInteger(options.seed)) {
    throw new OptionError('seed', 'options.seed must be an integer');
  }
  if (options.skew !== undefined && !(typeof options.skew === 'number' && options.skew >= 0 && Number.isFinite(options.skew))) {
    throw new OptionError('skew', 'options.skew must be a number >= 0');
  }
}

export class GeneratorSource implements Source<PageVisit> {
  readonly name = 'generator';
  private readonly clock: Clock;
  private readonly rate: number;
  private readonly users: number;
  private readonly seed: number;
  private readonly limit: number;
  private readonly cdf: Float64Array;
  private readonly pageBytes: Uint8Array[];
  private startTime = 0;
  private produced = 0;
  private readonly described: string;

  constructor(options: GeneratorOptions, deps: { clock: Clock }) {
    validateGeneratorOptions(options);
    this.clock = deps.clock;
    this.rate = options.ratePerSecond ?? 1000;
    this.users = options.users ?? 10_000;
    this.seed = fmix32((options.seed ?? 1) >>> 0 ^ 0x5eed);
    this.limit = options.limit ?? Number.POSITIVE_INFINITY;
    const pages = options.pages ?? 50;
    const skew = options.skew ?? 1.1;
    // what decides the visits; the rate and the limit only decide how fast and how many
    this.described = `generator(seed ${options.seed ?? 1}, pages ${pages}, users ${this.users}, skew ${skew})`;
    this.cdf = new Float64Array(pages);
    let total = 0;
    for (let r = 0; r < pages; r++) this.cdf[r] = total += 1 / Math.pow(r + 1, skew);
    for (let r = 0; r < pages; r++) this.cdf[r]! /= total;
    const encoder = new TextEncoder();
    this.pageBytes = Array.from({ length: pages }, (_, r) => encoder.encode(pagePath(r)));
  }

  get exhausted(): boolean {
    return this.produced >= this.limit;
  }

  async open(): Promise<void> {
    this.restartClock();
  }

  /** Resumed: the rate clock continues from now, as if the visits produced so far had just been made. */
  private restartClock(): void {
    this.startTime = this.clock.now() - (this.rate === Number.POSITIVE_INFINITY ? 0 : Math.ceil((this.produced * 1000) / this.rate));
  }

  describe(): string {
    return this.described;
  }

  /** Visits produced so far (visit i depends only on the seed and i), and the rate clock's start (their timestamps). */
  position(): GeneratorOffset {
    return { kind: 'generator', produced: this.produced, start: this.startTime };
  }

  /**
   * Visits [range.from, range.to) again, with the timestamps the run that made them gave them (its rate
   * clock start is in the range; at an infinite rate a timestamp is the time it is made, so now).
   */
  async replay(range: SourceRange): Promise<Batch<PageVisit>> {
    if (range.kind !== 'generator' || range.from !== this.produced || !(range.to >= range.from) || range.to > this.limit) {
      throw new SluiceError('ERR_CHECKPOINT', `cannot replay a batch of the generator: it took ${JSON.stringify(range)}, and the checkpoint is after visit ${this.produced}`);
    }
    const table = this.make(range.from, range.to - range.from, this.clock.now(), range.start ?? this.startTime);
    this.produced = range.to;
    this.restartClock();
    return Batch.ofTable<PageVisit>(table);
  }

  resumeFrom(offset: SourceOffset): void {
    if (offset.kind !== 'generator' || !Number.isSafeInteger(offset.produced) || offset.produced < 0) {
      throw new SluiceError('ERR_CHECKPOINT', 'the checkpoint holds no generator position');
    }
    this.produced = offset.produced;
  }

  async close(): Promise<void> {}

  async poll(max: number): Promise<Batch<PageVisit> | undefined> {
    const now = this.clock.now();
    const due =
      this.rate === Number.POSITIVE_INFINITY
        ? Number.POSITIVE_INFINITY
        : Math.floor(((now - this.startTime) * this.rate) / 1000) - this.produced;
    const n = Math.min(due, max, this.limit - this.produced);
    if (n <= 0) return undefined;
    const table = this.make(this.produced, n, now, this.startTime);
    this.produced += n;
    return Batch.ofTable<PageVisit>(table);
  }

  /** Visits first .. first+n-1 as columns, timed from the rate clock start `start`. */
  private make(first: number, n: number, now: number, start: number): ColumnTable {
    const pageIdx = new Uint32Array(n);
    let byteLength = 0;
    const userId = new Float64Array(n);
    const durationMs = new Float64Array(n);
    const timestamp = new Float64Array(n);
    const draw = (i: number, k: number): number => fmix32(this.seed ^ fmix32((i * 4 + k) >>> 0) ^ Math.floor(i / 2 ** 30));
    for (let j = 0; j < n; j++) {
      const i = first + j;
      const p = this.pickPage(draw(i, 0) / 2 ** 32);
      pageIdx[j] = p;
      byteLength += this.pageBytes[p]!.length;
      userId[j] = 1 + (draw(i, 1) % this.users);
      // Box-Muller: two uniforms in (0, 1] give a standard normal z.
      const u1 = (draw(i, 2) + 1) / 2 ** 32;
      const u2 = draw(i, 3) / 2 ** 32;
      const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      durationMs[j] = Math.max(1, Math.round(Math.exp(Math.log(15_000) + 0.9 * z)));
      timestamp[j] =
        this.rate === Number.POSITIVE_INFINITY ? now : start + Math.floor((i * 1000) / this.rate);
    }
    const offsets = new Uint32Array(n + 1);
    const bytes = new Uint8Array(byteLength);
    let at = 0;
    for (let j = 0; j < n; j++) {
      const b = this.pageBytes[pageIdx[j]!]!;
      for (let k = 0; k < b.length; k++) bytes[at + k] = b[k]!;
      at += b.length;
      offsets[j + 1] = at;
    }
    return {
      length: n,
      columns: {
        page: { kind: 'utf8', offsets, bytes },
        userId: { kind: 'f64', values: userId },
        durationMs: { kind: 'f64', values: durationMs },
        timestamp: { kind: 'f64', values: timestamp },
      },
    };
  }

  /** Smallest rank whose cumulative weight reaches u (binary search of the CDF). */
  private pickPage(u: number): number {
    let lo = 0;
    let hi = this.cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
