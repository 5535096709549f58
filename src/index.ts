// Public API of sluice.
export { SluiceError, OptionError, BadRecordError, MemoryLimitError, IOError, CheckpointError } from './errors.js';
export type { ErrorCode } from './errors.js';

// Embedded API: a streaming job's context, its streams and their options.
export { StreamingContext } from './api/context.js';
export type { BatchInfo, ContextState, StopOptions, StreamingListener } from './api/context.js';
export type { ResolvedContextOptions, StreamingContextOptions } from './api/options.js';
export { DStream, PairDStream } from './api/dstream.js';
export type { KeyField, NumberField } from './api/dstream.js';
export type { UpdateStateOptions } from './api/verbs/update-state-by-key.js';
export type { SaveAsTextFilesOptions } from './api/verbs/save-as-text-files.js';
export type { PrintOptions } from './api/verbs/print.js';
export type { BuiltinAggregation } from './plan/keyed-state.js';
export type { FileFormat, FileStreamOptions } from './sources/file.js';
export type { GeneratorOptions, PageVisit } from './sources/generator.js';
export type { QueueStreamOptions } from './sources/queue.js';
export type { ForeachBatchFunction } from './sinks/foreach.js';
export type { TextOutput } from './sinks/console.js';
export type { LineFormatter } from './sinks/text-files.js';
export { ManualClock, systemClock } from './runtime/scheduler.js';
export type { Clock } from './runtime/scheduler.js';
