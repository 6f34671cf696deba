// Observability: what the library tells an application about its own work, without a logger
// dependency. Every event goes to a node:diagnostics_channel channel named `seglog:<event>` (free
// when nobody subscribes) and, when NODE_DEBUG=seglog is set, to stderr through util.debuglog.
//
//   import diagnostics_channel from 'node:diagnostics_channel';
//   diagnostics_channel.subscribe('seglog:recovery', (msg) => console.log(msg));
import diagnostics_channel from 'node:diagnostics_channel';
import path from 'node:path';
import { debuglog } from 'node:util';

/** The message published on each channel. Every message names the log directory and the topic. */
export interface DiagnosticEvents {
  /** A segment was closed and a new active segment started. */
  roll: {
    dir: string; topic: string; oldBase: number; newBase: number;
    reason: RollReason;
    /** Size of the segment that was closed. */
    oldBytes?: number;
  };
  /** Retention removed segments (by age, size or truncateBefore). */
  retention: { dir: string; topic: string; segmentsDeleted: number; bytesFreed: number; startOffset: number; reason: string };
  /** A compaction pass finished. */
  compaction: { dir: string; topic: string; recordsBefore: number; recordsAfter: number; bytesFreed: number; ms: number };
  /** Recovery at open did something beyond a clean reopen: what was cut or rebuilt, and why. */
  recovery: {
    dir: string; topic: string;
    /** 'scan' | 'truncate' | 'delete-segment' | 'rebuild-index' | 'remove-temp-file' | 'remove-orphan-index' | 'finish-delete' | 'repair' (openLog's repair option). */
    action: string;
    file?: string; position?: number;
    /** Bytes scanned ('scan') or cut ('truncate'). */
    bytes?: number;
    reason: string;
  };
  /** Damage found (at open or by a read): the error's file and position. */
  corruption: { dir: string; topic: string; file: string; position: number; message: string };
}

export type DiagnosticEvent = keyof DiagnosticEvents;

/**
 * Why a segment rolled: it would pass segmentBytes, its first record is older than segmentMs, its
 * relative offsets ran out, or compact() closed it so that it can be compacted.
 */
export type RollReason = 'bytes' | 'time' | 'records' | 'compact';

export const CHANNEL_NAMES: { readonly [E in DiagnosticEvent]: string } = {
  roll: 'seglog:roll',
  retention: 'seglog:retention',
  compaction: 'seglog:compaction',
  recovery: 'seglog:recovery',
  corruption: 'seglog:corruption',
};

const channels = {
  roll: diagnostics_channel.channel(CHANNEL_NAMES.roll),
  retention: diagnostics_channel.channel(CHANNEL_NAMES.retention),
  compaction: diagnostics_channel.channel(CHANNEL_NAMES.compaction),
  recovery: diagnostics_channel.channel(CHANNEL_NAMES.recovery),
  corruption: diagnostics_channel.channel(CHANNEL_NAMES.corruption),
};

let debug: ReturnType<typeof debuglog> | undefined;
let debugEnabled: boolean | undefined;

/** Publishes one event; costs one property check when nobody listens and NODE_DEBUG is off. */
export function publish<E extends DiagnosticEvent>(event: E, message: DiagnosticEvents[E]): void {
  const ch = channels[event];
  if (ch.hasSubscribers) ch.publish(message);
  if (debugEnabled === undefined) {
    debug = debuglog('seglog');
    debugEnabled = debug.enabled;
  }
  if (debugEnabled) debug!('%s %j', event, message);
}

/**
 * Publishes a `corruption` event for an ERR_CORRUPT error about to be thrown, and returns it
 * (`throw corruptionFound(err, topicDir)`). The topic and log directory come from the topic's folder.
 */
export function corruptionFound<E extends { message: string; file?: string; position?: number }>(err: E, topicDir: string): E {
  publish('corruption', {
    dir: path.dirname(topicDir),
    topic: path.basename(topicDir),
    file: err.file ?? topicDir,
    position: err.position ?? -1,
    message: err.message,
  });
  return err;
}

/** Publishes a `recovery` event for the topic stored in `topicDir`. */
export function recoveryAction(topicDir: string, action: string, reason: string, details: { file?: string; position?: number; bytes?: number } = {}): void {
  publish('recovery', { dir: path.dirname(topicDir), topic: path.basename(topicDir), action, ...details, reason });
}
