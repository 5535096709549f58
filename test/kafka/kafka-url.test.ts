// kafka:// URLs and the Kafka options of `sluice aggregate`: parsed at the boundary, errors name the option.

import { describe, expect, it } from 'vitest';
import { parseBrokerList, parseKafkaUrl } from '../../src/plan/kafka-url.js';
import { defaultWorkers, parseAggregateSpec } from '../../src/plan/aggregate-spec.js';
import { availableParallelism } from 'node:os';
import { OptionError } from '../../src/errors.js';

const optionOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    if (e instanceof OptionError) return e.option;
    throw e;
  }
  return undefined;
};

describe('kafka:// URLs', () => {
  it('parses brokers, topic and group', () => {
    expect(parseKafkaUrl('kafka://a:9092,b.example:19092/web_logs.v1?group=g-1', '--input', true)).toEqual({
      brokers: ['a:9092', 'b.example:19092'],
      topic: 'web_logs.v1',
      group: 'g-1',
    });
    expect(parseKafkaUrl('kafka://127.0.0.1:1/t', '--out', false)).toEqual({ brokers: ['127.0.0.1:1'], topic: 't', group: undefined });
  });

  it.each([
    ['kafka://host/t', /not HOST:PORT/],
    ['kafka://host:99999/t', /out of range/],
    ['kafka://host:1', /no \/TOPIC/],
    ['kafka://host:1/', /no topic/],
    ['kafka://host:1/a b', /not a legal topic/],
    ['kafka://:1/t', /not HOST:PORT/],
    ['kafka://host:1/t?grp=x', /unknown parameter "grp"/],
    ['kafka://host:1/t?group=', /group= is empty/],
    ['http://host:1/t', /must start with kafka:\/\//],
  ])('refuses %s', (url, why) => {
    expect(() => parseKafkaUrl(url, '--input', true)).toThrow(why);
    expect(optionOf(() => parseKafkaUrl(url, '--input', true))).toBe('--input');
  });

  it('an output URL takes no group', () => {
    expect(optionOf(() => parseKafkaUrl('kafka://h:1/t?group=g', '--out', false))).toBe('--out');
  });
});

describe('aggregate spec: Kafka options', () => {
  const base = { key: '0', agg: 'count', workers: '0' };
  it('a kafka input defaults to csv, bounded, json output', () => {
    const s = parseAggregateSpec({ ...base, input: 'kafka://h:1/in?group=g', out: 'kafka://h:1/out' });
    expect(s.format).toBe('csv');
    expect(s.follow).toBe(false);
    expect(s.exactlyOnce).toBe(false);
    expect(s.outFormat).toBe('json');
    expect(s.kafkaInput).toEqual({ brokers: ['h:1'], topic: 'in', group: 'g' });
    expect(s.kafkaOut?.topic).toBe('out');
  });

  it.each([
    [{ input: 'kafka://h:1/in', out: 'kafka://h:1/o', exactlyOnce: true }, '--exactly-once'],
    [{ input: 'kafka://h:1/in?group=g', out: 'o.csv', exactlyOnce: true }, '--exactly-once'],
    [{ input: '-', follow: true }, '--follow'], // a file may be followed (test/checkpoint/file-follow.test.ts), stdin not
    [{ input: 'in.csv', out: 'kafka://h:1/o' }, '--out'],
    [{ input: 'kafka://h:1/in', out: 'o.csv', outFormat: 'csv' }, '--out-format'],
    [{ input: 'kafka://h:1/in', out: 'kafka://h:1/o', outFormat: 'xml' }, '--out-format'],
    [{ input: 'kafka://h:1/in', header: true }, '--header'],
    [{ input: 'in.csv', deadLetter: 'kafka://h:1/dead' }, '--dead-letter'],
    [{ input: 'kafka://h:1/in', deadLetter: 'dead.jsonl' }, '--dead-letter'],
    [{ input: 'kafka://h:1/in', deadLetter: 'kafka://h/dead' }, '--dead-letter'],
    [{ input: 'in.csv', onError: 'dead-letter:kafka://h:1/dead' }, '--on-error'],
    [{ input: 'in.csv', key: undefined, messageKey: true }, '--message-key'],
    [{ input: 'kafka://h:1/in', messageKey: true }, '--message-key'],
    [{ input: 'kafka://h:1/in', key: undefined }, '--key'],
  ])('refuses %j naming %s', (o, option) => {
    expect(optionOf(() => parseAggregateSpec({ ...base, ...o }))).toBe(option);
  });

  it('--checkpoint takes a kafka:// input (with or without a group, --follow, --exactly-once)', () => {
    const s = parseAggregateSpec({ ...base, input: 'kafka://h:1/in?group=g', out: 'kafka://h:1/out', checkpoint: 'ckpt', checkpointKeep: '2', follow: true, exactlyOnce: true });
    expect([s.checkpoint, s.checkpointKeep, s.follow, s.exactlyOnce]).toEqual(['ckpt', 2, true, true]);
    expect(parseAggregateSpec({ ...base, input: 'kafka://h:1/in', out: 'totals.csv', checkpoint: 'ckpt' }).checkpoint).toBe('ckpt');
    expect(optionOf(() => parseAggregateSpec({ ...base, input: 'kafka://h:1/in', checkpoint: '' }))).toBe('--checkpoint');
  });

  it('--workers defaults to the cores, one fewer (at least 1) for a kafka input; a given --workers stands', () => {
    const cores = availableParallelism();
    const { workers: _, ...noWorkers } = base;
    expect(parseAggregateSpec({ ...noWorkers, input: 'kafka://h:1/in' }).workers).toBe(Math.max(1, cores - 1));
    expect(parseAggregateSpec({ ...noWorkers, input: 'in.csv' }).workers).toBe(cores);
    expect(parseAggregateSpec({ ...base, input: 'kafka://h:1/in', workers: '2' }).workers).toBe(2);
    expect([defaultWorkers(true, 1), defaultWorkers(true, 2), defaultWorkers(true, 8), defaultWorkers(false, 2)]).toEqual([1, 1, 7, 2]);
  });

  it('--dead-letter kafka:// is the dead-letter policy', () => {
    const s = parseAggregateSpec({ ...base, input: 'kafka://h:1/in', deadLetter: 'kafka://h:1/dead' });
    expect(s.onError).toEqual({ kind: 'dead-letter', path: 'kafka://h:1/dead', kafka: { brokers: ['h:1'], topic: 'dead', group: undefined } });
  });

  it('--message-key takes the place of --key', () => {
    const s = parseAggregateSpec({ ...base, input: 'kafka://h:1/in', key: undefined, messageKey: true });
    expect(s.messageKey).toBe(true);
    expect(s.key).toBe('');
    expect(() => parseAggregateSpec({ ...base, input: 'kafka://h:1/in', key: undefined })).toThrow(
      '--key <col> is required (or --message-key to group by the message key)',
    );
  });
});

describe('parseBrokerList', () => {
  it('reads HOST:PORT[,HOST:PORT] and names the option when it cannot', () => {
    expect(parseBrokerList('a:1,[::1]:9092,b.c:65535', '--kafka')).toEqual(['a:1', '[::1]:9092', 'b.c:65535']);
    expect(() => parseBrokerList('', '--kafka')).toThrow('--kafka must be HOST:PORT[,HOST:PORT], got "": it is empty');
    expect(() => parseBrokerList('a:1,b', '--kafka')).toThrow('--kafka must be HOST:PORT[,HOST:PORT], got "a:1,b": "b" is not HOST:PORT');
    expect(() => parseBrokerList('a:70000', '--kafka')).toThrow('port 70000 is out of range');
  });
});
