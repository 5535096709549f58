// Public API of sluice.
export { SluiceError, OptionError, BadRecordError, MemoryLimitError, IOError } from './errors.js';
export type { ErrorCode } from './errors.js';
