// Everything both entry points export besides openLog: the error class and the public types.
export { SeglogError } from './base/errors.js';
export type { SeglogErrorCode, SeglogErrorDetails } from './base/errors.js';
export type { Log, LogStats } from './log.js';
export type { LogOptions, TopicOptions, NamedCodecTopicOptions, Durability, Cleanup } from './format/options.js';
export type { Codec, CodecName, CodecOption, CodecOptionFor, CodecValue } from './format/codecs.js';
export type { Topic, TopicStats, AppendMeta, AppendBatchOptions, SubscribeOptions, Subscription } from './topic-api.js';
export type { LogRecord } from './format/record.js';
export type { ReadOptions } from './log/reader.js';
export { CHANNEL_NAMES } from './base/diagnostics.js';
export type { DiagnosticEvents, DiagnosticEvent, RollReason } from './base/diagnostics.js';
export { verify } from './verify/verify.js';
export type { VerifyOptions, VerifyProgress, VerifyProblem, VerifyProblemKind, VerifyReport, VerifyTopicReport } from './verify/verify.js';
export type { BackupOptions, BackupProgress } from './backup/backup.js';
export type { CompactionResult } from './cleaner/compaction.js';
export type { RetentionResult } from './cleaner/retention.js';
export type { MaintenanceOptions } from './cleaner/maintenance.js';
export type { TopicWritableOptions } from './topic-writable.js';
