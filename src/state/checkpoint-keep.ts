// How many checkpoints a CheckpointStore keeps: the defaults option parsers check against without
// loading the store (its fs, crypto and shard-file code), which a job without checkpoints never needs.

export const DEFAULT_CHECKPOINT_KEEP = 3;
export const MAX_CHECKPOINT_KEEP = 1000;
