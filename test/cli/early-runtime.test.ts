// Which command lines start their worker threads before the CLI is parsed (src/cli/early-runtime.ts).

import { describe, expect, it } from 'vitest';
import { earlyWorkerCount } from '../../src/cli/early-runtime.js';

describe('earlyWorkerCount', () => {
  it('starts a plain file or stdin aggregate with the workers it asks for, or one per core', () => {
    expect(earlyWorkerCount(['aggregate', '--input', 'a.csv', '--key', '0', '--agg', 'count'], 2)).toBe(2);
    expect(earlyWorkerCount(['aggregate', '--input', '-', '--key', '0', '--agg', 'count', '--workers', '3'], 2)).toBe(3);
    expect(earlyWorkerCount(['aggregate', '--input=a.csv', '--workers=1', '--workers=4'], 2)).toBe(4);
  });

  it('leaves every other command line to start its runtime after parsing', () => {
    for (const args of [
      ['demo'],
      ['aggregate', '--key', '0'],
      ['aggregate', '--input', 'kafka://localhost:9092/t', '--key', '0'],
      ['aggregate', '--input', 'a.csv', '--follow'],
      ['aggregate', '--input', 'a.csv', '--checkpoint', 'cp'],
      ['aggregate', '--input', 'a.csv', '--checkpoint=cp'],
      ['aggregate', '--input', 'a.csv', '--help'],
      ['aggregate', '--input', 'a.csv', '--workers', '0'],
      ['aggregate', '--input', 'a.csv', '--workers', 'x'],
      ['aggregate', '--input', 'a.csv', '--workers', '257'],
      ['aggregate', '--input', 'a.csv', '--workers'],
    ]) {
      expect(earlyWorkerCount(args, 2), args.join(' ')).toBeUndefined();
    }
  });
});
