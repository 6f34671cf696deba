// Everything both entry points export besides openLog: the error class and the public types.
export { SeglogError } from './errors.js';
export type { SeglogErrorCode, SeglogErrorDetails } from './errors.js';
export type { Log, LogStats } from './log.js';
export type { LogOptions, TopicOptions, Durability, Cleanup } from './options.js';
export type { Codec, CodecName, CodecOption } from './codecs.js';
export type { Topic, TopicStats, AppendMeta, AppendBatchOptions, SubscribeOptions, Subscription } from './topic-api.js';
export type { LogRecord } from './record.js';
export type { ReadOptions } from './reader.js';
export { CHANNEL_NAMES } from './diagnostics.js';
export type { DiagnosticEvents, DiagnosticEvent, RollReason } from './diagnostics.js';
export { verify } from './verify.js';
export type { VerifyOptions, VerifyProgress, VerifyProblem, VerifyProblemKind, VerifyReport, VerifyTopicReport } from './verify.js';
export type { CompactionResult } from './compaction.js';
export type { RetentionResult } from './retention.js';
