// The one error root of sluice: every error has a code, says whether retrying may help, and keeps its cause.

export type ErrorCode =
  | 'ERR_OPTION'
  | 'ERR_USAGE'
  | 'ERR_BAD_RECORD'
  | 'ERR_INPUT'
  | 'ERR_OUTPUT'
  | 'ERR_MEMORY'
  | 'ERR_WASM'
  | 'ERR_WORKER'
  | 'ERR_STATE'
  | 'ERR_CHECKPOINT'
  | 'ERR_KAFKA'
  | 'ERR_DASHBOARD'
  | 'ERR_STOPPED';

export interface SluiceErrorOptions {
  retriable?: boolean;
  cause?: unknown;
}

/** Root of every error sluice throws. Read `code` and `retriable`, never the message text. */
export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  constructor(code: ErrorCode, message: string, options: SluiceErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** A wrong option at the public boundary (API or CLI): names the option and what it must be. */
export class OptionError extends SluiceError {
  readonly option: string;
  constructor(option: string, message: string) {
    super('ERR_OPTION', message);
    this.option = option;
  }
}

/** A record that could not be decoded: where it is and why. */
export class BadRecordError extends SluiceError {
  readonly source: string;
  readonly line: number;
  readonly reason: string;
  constructor(source: string, line: number, reason: string) {
    super('ERR_BAD_RECORD', `bad record at line ${line} of ${source}: ${reason}`);
    this.source = source;
    this.line = line;
    this.reason = reason;
  }
}

/** A Kafka message that could not be decoded: its topic, partition and offset, and why. */
export class BadMessageError extends SluiceError {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  readonly reason: string;
  constructor(topic: string, partition: number, offset: string, reason: string) {
    super('ERR_BAD_RECORD', `bad record at offset ${offset} of partition ${partition} of Kafka topic ${topic}: ${reason}`);
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
    this.reason = reason;
  }
}

/** The demo's dashboard could not serve its page (e.g. the port is in use). */
export class DashboardError extends SluiceError {
  constructor(message: string, cause?: unknown) {
    super('ERR_DASHBOARD', message, { cause });
  }
}

/**
 * The shared memory cannot hold what the job needs. `addressableBytes` is the most a WebAssembly memory
 * can hold (4 GiB): only a limit below it (options.maxMemoryBytes) can be raised, and only from the API,
 * so the message says what the user can do in each case (a CLI job always runs at the most).
 */
export class MemoryLimitError extends SluiceError {
  readonly requestedBytes: number;
  readonly limitBytes: number;
  constructor(requestedBytes: number, limitBytes: number, addressableBytes: number) {
    super(
      'ERR_MEMORY',
      `shared memory exhausted: ${requestedBytes} more bytes requested, limit is ${limitBytes} bytes ` +
        (limitBytes < addressableBytes
          ? `(raise options.maxMemoryBytes, at most ${addressableBytes}, or lower the number of distinct keys)`
          : '(all a WebAssembly memory can address): the state of this many distinct keys does not fit in one job. ' +
            'Split the input by key into several jobs (each key in exactly one), or make batches smaller ' +
            '(--batch-size, options.maxBatchRecords) to leave more room to the state'),
    );
    this.requestedBytes = requestedBytes;
    this.limitBytes = limitBytes;
  }
}

/**
 * A checkpoint that cannot be used: written by another job or format version, or none of them intact.
 * `dir` is the checkpoint directory; `batch` the checkpoint's batch id and `file` the file at fault, when one is.
 */
export class CheckpointError extends SluiceError {
  readonly dir: string;
  readonly batch: number | undefined;
  readonly file: string | undefined;
  constructor(dir: string, message: string, fields: { batch?: number; file?: string; cause?: unknown } = {}) {
    super('ERR_CHECKPOINT', message, { cause: fields.cause });
    this.dir = dir;
    this.batch = fields.batch;
    this.file = fields.file;
  }
}

/** An I/O failure reading a source or writing a sink. */
export class IOError extends SluiceError {
  readonly path: string;
  constructor(code: 'ERR_INPUT' | 'ERR_OUTPUT', path: string, message: string, options: SluiceErrorOptions = {}) {
    super(code, message, options);
    this.path = path;
  }
}

/** A failed Kafka call as an ERR_KAFKA error: `<what>: <kafkajs's message>`, retriable when kafkajs says so. */
export function kafkaError(what: string, cause: unknown): SluiceError {
  const msg = cause instanceof Error ? cause.message : String(cause);
  return new SluiceError('ERR_KAFKA', `${what}: ${msg}`, { cause, retriable: !!(cause as { retriable?: boolean } | undefined)?.retriable });
}

/**
 * A transaction of a Kafka job was refused because another instance initialised its transactional id:
 * the partitions it wrote for have a new owner (or are being restored again). Nothing of it is visible.
 */
export class ProducerFencedError extends SluiceError {
  readonly transactionalId: string;
  /** The input partition the id belongs to, or 'all'. */
  readonly scope: number | 'all';
  constructor(transactionalId: string, scope: number | 'all', why: string, cause?: unknown) {
    super('ERR_KAFKA', `the producer of transactional id ${transactionalId} was fenced: ${why}`, { cause });
    this.transactionalId = transactionalId;
    this.scope = scope;
  }
}

/**
 * A record of a Kafka topic whose grouping key belongs to another partition than the one it was read
 * from, met by a member that owns only some partitions: the topic is not partitioned by the key.
 */
export class CoPartitionError extends SluiceError {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** The partition the key belongs to: (murmur2(key) & 0x7fffffff) % partitions. */
  readonly keyPartition: number;
  constructor(topic: string, partition: number, offset: string, keyPartition: number, partitions: number, groupId: string) {
    super(
      'ERR_KAFKA',
      `the record at offset ${offset} of partition ${partition} of Kafka topic ${topic} has a grouping key of partition ` +
        `${keyPartition} (murmur2 of the key % ${partitions}): ${topic} is not partitioned by the grouping key, so the ` +
        `members of consumer group ${groupId} cannot split it. Run one member in the group, or produce ${topic} keyed by ` +
        `the grouping key with Kafka's default partitioner (with --message-key, the message key is the grouping key)`,
    );
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
    this.keyPartition = keyPartition;
  }
}
