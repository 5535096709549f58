import { describe, expect, it } from 'vitest';
import { OptionError, StreamingContext, type StreamingContextOptions } from '../../src/index.js';

function optionError(fn: () => unknown): OptionError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(OptionError);
    expect((e as OptionError).code).toBe('ERR_OPTION');
    return e as OptionError;
  }
  throw new Error('expected an OptionError');
}

const context = (options: unknown) => () => new StreamingContext(options as StreamingContextOptions);

describe('StreamingContext options', () => {
  const cases: Array<[string, unknown, string, string]> = [
    ['no options', undefined, 'options', 'options must be an object with a batchInterval'],
    ['batchInterval 0', { batchInterval: 0 }, 'batchInterval', 'options.batchInterval must be a positive number of milliseconds'],
    ['batchInterval -5', { batchInterval: -5 }, 'batchInterval', 'options.batchInterval must be a positive number of milliseconds'],
    ['batchInterval NaN', { batchInterval: Number.NaN }, 'batchInterval', 'options.batchInterval must be a positive number of milliseconds'],
    ['batchInterval Infinity', { batchInterval: Infinity }, 'batchInterval', 'options.batchInterval must be a positive number of milliseconds'],
    ['batchInterval as text', { batchInterval: '1000' }, 'batchInterval', 'options.batchInterval must be a positive number of milliseconds'],
    ['maxBatchRecords 0', { batchInterval: 1, maxBatchRecords: 0 }, 'maxBatchRecords', 'options.maxBatchRecords must be a positive integer'],
    ['maxBatchRecords 1.5', { batchInterval: 1, maxBatchRecords: 1.5 }, 'maxBatchRecords', 'options.maxBatchRecords must be a positive integer'],
    ['workers -1', { batchInterval: 1, workers: -1 }, 'workers', 'options.workers must be an integer from 0 (inline) to 256'],
    ['workers 2.5', { batchInterval: 1, workers: 2.5 }, 'workers', 'options.workers must be an integer from 0 (inline) to 256'],
    ['workers 257', { batchInterval: 1, workers: 257 }, 'workers', 'options.workers must be an integer from 0 (inline) to 256'],
    ['inline as text', { batchInterval: 1, inline: 'yes' }, 'inline', 'options.inline must be a boolean'],
    ['inline with workers', { batchInterval: 1, inline: true, workers: 2 }, 'inline', 'options.inline cannot be combined with options.workers greater than 0'],
    ['checkpointDir empty', { batchInterval: 1, checkpointDir: '' }, 'checkpointDir', 'options.checkpointDir must be a non-empty string'],
    ['maxMemoryBytes small', { batchInterval: 1, maxMemoryBytes: 1000 }, 'maxMemoryBytes', 'options.maxMemoryBytes must be an integer from 262144 to 4294967296 bytes'],
    ['maxMemoryBytes huge', { batchInterval: 1, maxMemoryBytes: 2 ** 33 }, 'maxMemoryBytes', 'options.maxMemoryBytes must be an integer from 262144 to 4294967296 bytes'],
    ['clock without sleep', { batchInterval: 1, clock: { now: () => 0 } }, 'clock', 'options.clock must have now() and sleep(ms) methods'],
  ];
  for (const [name, options, option, message] of cases) {
    it(`${name}: ${message}`, () => {
      const e = optionError(context(options));
      expect(e.message).toBe(message);
      expect(e.option).toBe(option);
    });
  }

  it('fills in defaults; inline means no workers', () => {
    const ssc = new StreamingContext({ batchInterval: 250, inline: true, checkpointDir: '/tmp/cp' });
    expect(ssc.options).toMatchObject({ batchInterval: 250, workers: 0, checkpointDir: '/tmp/cp', maxBatchRecords: undefined });
    expect(new StreamingContext({ batchInterval: 1 }).options.workers).toBeGreaterThan(0);
    expect(ssc.state).toBe('initialized');
  });
});

describe('source and verb arguments', () => {
  const ssc = new StreamingContext({ batchInterval: 1000, inline: true });
  const s = ssc.queueStream([[1]]);
  const cases: Array<[string, () => unknown, string]> = [
    ['fileStream path', () => ssc.fileStream('', { format: 'lines' }), 'fileStream(path): path must be a non-empty string'],
    ['fileStream format', () => ssc.fileStream('x', { format: 'xml' as 'csv' }), 'options.format must be one of csv, jsonl, lines'],
    ['fileStream follow', () => ssc.fileStream('x', { format: 'lines', follow: 1 as unknown as boolean }), 'options.follow must be a boolean'],
    ['fileStream delimiter', () => ssc.fileStream('x', { format: 'csv', delimiter: '"' }), 'options.delimiter must be one character other than a quote, CR or LF'],
    ['fileStream onError', () => ssc.fileStream('x', { format: 'csv', onError: 'ignore' as 'skip' }), "options.onError must be 'fail' or 'skip'"],
    ['generator rate', () => ssc.generator({ ratePerSecond: 0 }), 'options.ratePerSecond must be a positive number'],
    ['generator pages', () => ssc.generator({ pages: 1.5 }), 'options.pages must be a positive integer'],
    ['generator seed', () => ssc.generator({ seed: 0.5 }), 'options.seed must be an integer'],
    ['generator skew', () => ssc.generator({ skew: -1 }), 'options.skew must be a number >= 0'],
    ['queueStream queue', () => ssc.queueStream(42 as unknown as number[][]), 'queueStream(queue): queue must be an array of arrays or an async iterable of arrays'],
    ['queueStream oneAtATime', () => ssc.queueStream([], { oneAtATime: 'no' as unknown as boolean }), 'options.oneAtATime must be a boolean'],
    ['map', () => s.map(undefined as unknown as (x: number) => number), 'map(fn): fn must be a function'],
    ['filter', () => s.filter(null as unknown as () => boolean), 'filter(predicate): predicate must be a function'],
    ['flatMap', () => s.flatMap(1 as unknown as () => number[]), 'flatMap(fn): fn must be a function'],
    ['keyBy', () => s.keyBy('x' as unknown as () => number), 'keyBy(fn): fn must be a function'],
    ['mapToPair', () => s.mapToPair({} as unknown as () => [number, number]), 'mapToPair(fn): fn must be a function'],
    ['pairs', () => s.pairs('' as never), 'pairs(keyField, valueField): keyField must be a non-empty field name'],
    ['reduceByKey', () => s.keyBy((x) => x).reduceByKey('avg' as 'sum'), "reduceByKey(reduce): reduce must be one of 'sum', 'count', 'min', 'max' or a function"],
    ['updateStateByKey', () => s.keyBy((x) => x).updateStateByKey('avg' as 'sum'), "updateStateByKey(update): update must be one of 'sum', 'count', 'min', 'max' or a function"],
    ['updateStateByKey emit', () => s.mapToPair((x) => [x, x]).updateStateByKey('sum', { emit: 'some' as 'all' }), "updateStateByKey(update, options): options.emit must be 'all' or 'changed'"],
    ['mapValues', () => s.keyBy((x) => x).mapValues(3 as unknown as () => number), 'mapValues(fn): fn must be a function'],
    ['foreachBatch', () => s.foreachBatch(undefined as unknown as () => void), 'foreachBatch(fn): fn must be a function'],
    ['saveAsTextFiles prefix', () => s.saveAsTextFiles(''), 'saveAsTextFiles(prefix, suffix): prefix must be a non-empty string'],
    ['saveAsTextFiles suffix', () => s.saveAsTextFiles('out/x', 'a/b'), 'saveAsTextFiles(prefix, suffix): suffix must be a string without path separators'],
    ['print', () => s.print(-1), 'print(num): num must be an integer >= 0'],
  ];
  for (const [name, fn, message] of cases) {
    it(`${name}: ${message}`, () => {
      expect(optionError(fn).message).toBe(message);
    });
  }

  it('awaitTerminationOrTimeout and stop check their arguments', async () => {
    await expect(ssc.awaitTerminationOrTimeout(-1)).rejects.toThrow('awaitTerminationOrTimeout(timeoutMs): timeoutMs must be a number >= 0');
    await expect(ssc.stop({ graceful: 'yes' as unknown as boolean })).rejects.toThrow('options.graceful must be a boolean');
  });

  it('start() without outputs, or twice, is refused', async () => {
    const empty = new StreamingContext({ batchInterval: 1000, inline: true });
    empty.queueStream([[1]]);
    await expect(empty.start()).rejects.toThrow('no output operations registered, so there is nothing to run');
    const once = new StreamingContext({ batchInterval: 1000, inline: true });
    once.queueStream([[1]]).foreachBatch(() => {});
    await once.start();
    await expect(once.start()).rejects.toThrow('the StreamingContext cannot start: it is active');
    expect(() => once.queueStream([[2]])).toThrow('streams cannot be created after the StreamingContext has started');
    await once.awaitTermination();
    expect(once.state).toBe('stopped');
  });
});
