// Validation and defaults of LogOptions and TopicOptions. Every bad option is refused with
// ERR_INVALID_ARGUMENT naming the option and the value.
import { invalidArgument, refuseUnknownKeys } from '../base/errors.js';
import { isCodecName, resolveCodec, type Codec, type CodecName, type CodecOption, type CodecOptionFor, type CodecValue } from './codecs.js';
import {
  FOLLOW_POLL_MS_DEFAULT, FSYNC_INTERVAL_MS_DEFAULT, INDEX_INTERVAL_BYTES_DEFAULT, READ_CACHE_BYTES_DEFAULT, RECORD_BYTES_MAX_DEFAULT,
  MIN_CLEANABLE_DIRTY_RATIO_DEFAULT, RECORD_BYTES_MAX_LIMIT, SEGMENT_BYTES_DEFAULT, SEGMENT_BYTES_MAX, SEGMENT_BYTES_MIN, TOMBSTONE_RETENTION_MS_DEFAULT,
  TOPIC_NAME_LENGTH_MAX,
} from '../base/limits.js';

/** Topic options as stored: JSON-compatible, without a user codec object. */
export interface StoredTopicOptions {
  codec?: string;
  segmentBytes?: number;
  segmentMs?: number;
  indexIntervalBytes?: number;
  retention?: { maxAgeMs?: number; maxBytes?: number };
  cleanup?: string;
  tombstoneRetentionMs?: number;
  maxRecordBytes?: number;
  minCleanableDirtyRatio?: number;
}

export type Durability = 'fsync' | 'os' | 'none';

/** Topic options naming one of the built-in codecs: the topic's value type follows the name (CodecValue). */
export type NamedCodecTopicOptions<C extends CodecName> = TopicOptions<CodecValue<C>> & { codec: C };
export type Cleanup = 'delete' | 'compact' | 'compact,delete';

/**
 * Options of a topic (stored with it; options given later override the stored ones). `V` is the
 * value type: the codec must fit it (CodecOptionFor).
 */
export interface TopicOptions<V = any> {
  /** How values are encoded: `'binary'` (default), `'string'`, `'json'`, `'msgpack'`, or `{ encode, decode }` (not stored: pass it on every open). */
  codec?: CodecOptionFor<V>;
  /** Roll to a new segment before one would pass this size (default 64 MiB). */
  segmentBytes?: number;
  /** Roll when the active segment's first record is older than this. */
  segmentMs?: number;
  /** A sparse index entry every this many bytes (default 4096). */
  indexIntervalBytes?: number;
  /** Retention of whole closed segments, oldest first, by age of their newest record or total size. */
  retention?: { maxAgeMs?: number; maxBytes?: number };
  /** `'delete'` (default: retention), `'compact'` (newest record per key), or both. */
  cleanup?: Cleanup;
  /** How long compaction keeps delete markers (default 1 day). */
  tombstoneRetentionMs?: number;
  /** Larger records throw `ERR_RECORD_TOO_LARGE` (default 8 MiB). */
  maxRecordBytes?: number;
  /** Compacted topics: compaction starts by itself once this share of the closed bytes is dirty (default 0.5). */
  minCleanableDirtyRatio?: number;
  /**
   * Not a setting (never stored, not in `defaults`): says that this open changes the topic's codec
   * on purpose. Without it, a `codec` other than the topic's (or a custom-codec topic opened
   * without its codec) is refused with ERR_INVALID_ARGUMENT (codec-change.ts). Records already
   * written are not re-encoded: they are decoded with the new codec from then on.
   */
  changeCodec?: boolean;
}

/** Options of `openLog`. */
export interface LogOptions {
  /**
   * `'fsync'` (default): appends resolve once fsynced (group commit). `'os'`: once handed to the OS
   * (survives a process crash, not a power cut). `'none'`: at once.
   */
  durability?: Durability;
  /** Under `'os'`/`'none'`, a background fsync this often (default 1000). */
  fsyncIntervalMs?: number;
  /** Open without the lock, next to a writer; writes throw `ERR_READ_ONLY`. `log.refresh()` picks up what the writer appended since. */
  readOnly?: boolean;
  /**
   * With `readOnly`: the log follows the writer by itself (a file watch and a poll, log/follower.ts):
   * what it appends, rolls, expires and compacts, and the topics it creates or deletes, are picked
   * up without `log.refresh()`, and subscriptions wake by themselves. Default false.
   */
  follow?: boolean;
  /** With `follow`: how often it also looks without a watch event (file systems that drop them); default 1000. */
  followPollMs?: number;
  /** Options for topics that do not set them. */
  defaults?: TopicOptions;
  /** Bytes of regions kept for random reads (get) across the log; default 128 MiB, 0 disables. */
  readCacheBytes?: number;
  /**
   * Where recovery would fail with ERR_CORRUPT (an invalid batch followed by valid data or before the
   * recovery point, a missing segment), cut the topic at the first damage instead, dropping everything
   * after it, and publish a `recovery` diagnostics event saying what was cut. Every segment is checked
   * from its start (a full scan). Default false. Not with readOnly.
   */
  repair?: boolean;
  /**
   * Read closed segments through memory mappings (default true; the default entry point only, with
   * its addon loaded). false: positional reads, as seglog/native-free does; the environment
   * variable SEGLOG_MMAP=0 does the same for every log of the process. `log.stats().io` tells.
   */
  mmap?: boolean;
}

export interface ResolvedLogOptions {
  durability: Durability;
  fsyncIntervalMs: number;
  readOnly: boolean;
  follow: boolean;
  followPollMs: number;
  defaults: TopicOptions;
  readCacheBytes: number;
  repair: boolean;
  mmap: boolean;
}

export interface ResolvedTopicOptions<V> {
  codecName: string | undefined; // undefined: a user codec
  codec: Codec<V>;
  /** The topic was created with a user codec (stored as 'custom') and none was given: `codec` reads raw bytes meanwhile. */
  customCodecMissing: boolean;
  /**
   * Where the codec came from: given to log.topic(), the topic's stored options, or only a default
   * (nothing stored says it: a topic stored before codecs were recorded, or a follower that cannot
   * see the writer's metadata). codec-change.ts refuses changes of a given or stored one.
   */
  codecFrom: 'given' | 'stored' | 'default';
  segmentBytes: number;
  segmentMs: number; // Infinity: never
  indexIntervalBytes: number;
  retention: { maxAgeMs: number; maxBytes: number }; // Infinity: unbounded
  cleanup: Cleanup;
  tombstoneRetentionMs: number;
  maxRecordBytes: number;
  minCleanableDirtyRatio: number;
}

const TOPIC_NAME = /^[A-Za-z0-9._-]+$/;

export function checkTopicName(name: unknown): string {
  if (typeof name !== 'string' || name.length < 1 || name.length > TOPIC_NAME_LENGTH_MAX || !TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw invalidArgument('topic name', name, `1 to ${TOPIC_NAME_LENGTH_MAX} characters of [A-Za-z0-9._-], not "." or ".."`);
  }
  return name;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function intOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArgument(`option ${name}`, value, `an integer from ${min} to ${max}`);
  }
  return value;
}

const KNOWN_LOG_OPTIONS = new Set(['durability', 'fsyncIntervalMs', 'readOnly', 'follow', 'followPollMs', 'defaults', 'readCacheBytes', 'repair', 'mmap']);
const KNOWN_TOPIC_OPTIONS = new Set(['codec', 'segmentBytes', 'segmentMs', 'indexIntervalBytes', 'retention', 'cleanup', 'tombstoneRetentionMs', 'maxRecordBytes', 'minCleanableDirtyRatio']);

export function resolveLogOptions(options: unknown): ResolvedLogOptions {
  if (options === undefined) options = {};
  if (!isPlainObject(options)) throw invalidArgument('options', options, 'an object');
  refuseUnknownKeys('option', options, KNOWN_LOG_OPTIONS);
  const durability = options.durability === undefined ? 'fsync' : options.durability; // null is refused, not a default
  if (durability !== 'fsync' && durability !== 'os' && durability !== 'none') {
    throw invalidArgument('option durability', durability, "'fsync', 'os' or 'none'");
  }
  const fsyncIntervalMs = options.fsyncIntervalMs === undefined ? FSYNC_INTERVAL_MS_DEFAULT : intOption('fsyncIntervalMs', options.fsyncIntervalMs, 1, 2 ** 31 - 1);
  const readOnly = options.readOnly === undefined ? false : options.readOnly;
  if (typeof readOnly !== 'boolean') throw invalidArgument('option readOnly', readOnly, 'a boolean');
  const follow = options.follow === undefined ? false : options.follow;
  if (typeof follow !== 'boolean') throw invalidArgument('option follow', follow, 'a boolean');
  if (follow && !readOnly) throw invalidArgument('option follow', follow, 'used with readOnly: true (a writable log sees its own appends)');
  const followPollMs = options.followPollMs === undefined ? FOLLOW_POLL_MS_DEFAULT : intOption('followPollMs', options.followPollMs, 1, 2 ** 31 - 1);
  if (options.followPollMs !== undefined && !follow) throw invalidArgument('option followPollMs', followPollMs, 'used with follow: true');
  const defaults = options.defaults === undefined ? {} : options.defaults;
  if (!isPlainObject(defaults)) throw invalidArgument('option defaults', defaults, 'an object of topic options');
  validateTopicOptions(defaults, 'defaults.');
  const readCacheBytes = options.readCacheBytes === undefined ? READ_CACHE_BYTES_DEFAULT : intOption('readCacheBytes', options.readCacheBytes, 0, Number.MAX_SAFE_INTEGER);
  const repair = options.repair === undefined ? false : options.repair;
  if (typeof repair !== 'boolean') throw invalidArgument('option repair', repair, 'a boolean');
  if (repair && readOnly) throw invalidArgument('option repair', repair, 'false with readOnly (a repair writes)');
  const mmap = options.mmap === undefined ? true : options.mmap;
  if (typeof mmap !== 'boolean') throw invalidArgument('option mmap', mmap, 'a boolean');
  return { durability, fsyncIntervalMs, readOnly, defaults: defaults as TopicOptions, readCacheBytes, repair, mmap, follow, followPollMs };
}

/** What one log.topic() call takes: the topic's settings, and changeCodec (not a setting, so not in `defaults`). */
const KNOWN_OPEN_OPTIONS: ReadonlySet<string> = new Set([...KNOWN_TOPIC_OPTIONS, 'changeCodec']);

/** The codec name stored for a topic created with a user codec object (the object itself cannot be stored). */
export const CUSTOM_CODEC = 'custom';

/** Checks every given topic option (throws on the first bad one); returns them unchanged. */
export function validateTopicOptions(options: unknown, prefix = ''): TopicOptions {
  if (options === undefined) return {};
  if (!isPlainObject(options)) throw invalidArgument('topic options', options, 'an object');
  refuseUnknownKeys(`option ${prefix}`.trimEnd(), options, prefix === '' ? KNOWN_OPEN_OPTIONS : KNOWN_TOPIC_OPTIONS);
  const o = options as Record<string, unknown>;
  if (o.codec !== undefined) resolveCodec(o.codec as CodecOption<unknown>);
  if (o.changeCodec !== undefined) {
    if (typeof o.changeCodec !== 'boolean') throw invalidArgument('option changeCodec', o.changeCodec, 'a boolean');
    if (o.changeCodec && o.codec === undefined) throw invalidArgument('option changeCodec', o.changeCodec, 'given with the new codec ({ codec, changeCodec: true })');
  }
  if (o.segmentBytes !== undefined) intOption(prefix + 'segmentBytes', o.segmentBytes, SEGMENT_BYTES_MIN, SEGMENT_BYTES_MAX);
  if (o.segmentMs !== undefined) intOption(prefix + 'segmentMs', o.segmentMs, 1, Number.MAX_SAFE_INTEGER);
  if (o.indexIntervalBytes !== undefined) intOption(prefix + 'indexIntervalBytes', o.indexIntervalBytes, 1, SEGMENT_BYTES_MAX);
  if (o.tombstoneRetentionMs !== undefined) intOption(prefix + 'tombstoneRetentionMs', o.tombstoneRetentionMs, 0, Number.MAX_SAFE_INTEGER);
  if (o.maxRecordBytes !== undefined) intOption(prefix + 'maxRecordBytes', o.maxRecordBytes, 1, RECORD_BYTES_MAX_LIMIT);
  if (o.minCleanableDirtyRatio !== undefined && (typeof o.minCleanableDirtyRatio !== 'number' || !(o.minCleanableDirtyRatio >= 0 && o.minCleanableDirtyRatio <= 1))) {
    throw invalidArgument(`option ${prefix}minCleanableDirtyRatio`, o.minCleanableDirtyRatio, 'a number from 0 to 1');
  }
  if (o.cleanup !== undefined && o.cleanup !== 'delete' && o.cleanup !== 'compact' && o.cleanup !== 'compact,delete') {
    throw invalidArgument(`option ${prefix}cleanup`, o.cleanup, "'delete', 'compact' or 'compact,delete'");
  }
  if (o.retention !== undefined) {
    if (!isPlainObject(o.retention)) throw invalidArgument(`option ${prefix}retention`, o.retention, 'an object { maxAgeMs?, maxBytes? }');
    for (const k of Object.keys(o.retention)) if (k !== 'maxAgeMs' && k !== 'maxBytes') throw invalidArgument(`option ${prefix}retention`, k, 'maxAgeMs or maxBytes');
    if (o.retention.maxAgeMs !== undefined) intOption(prefix + 'retention.maxAgeMs', o.retention.maxAgeMs, 0, Number.MAX_SAFE_INTEGER);
    if (o.retention.maxBytes !== undefined) intOption(prefix + 'retention.maxBytes', o.retention.maxBytes, 0, Number.MAX_SAFE_INTEGER);
  }
  return options as TopicOptions;
}

/** The storable part of topic options (a user codec object is not stored). */
export function toStored(options: TopicOptions): StoredTopicOptions {
  const out: StoredTopicOptions = {};
  if (typeof options.codec === 'string') out.codec = options.codec;
  else if (options.codec !== undefined) out.codec = CUSTOM_CODEC; // (the object is not stored)
  if (options.segmentBytes !== undefined) out.segmentBytes = options.segmentBytes;
  if (options.segmentMs !== undefined) out.segmentMs = options.segmentMs;
  if (options.indexIntervalBytes !== undefined) out.indexIntervalBytes = options.indexIntervalBytes;
  if (options.retention !== undefined) out.retention = { ...options.retention };
  if (options.cleanup !== undefined) out.cleanup = options.cleanup;
  if (options.tombstoneRetentionMs !== undefined) out.tombstoneRetentionMs = options.tombstoneRetentionMs;
  if (options.maxRecordBytes !== undefined) out.maxRecordBytes = options.maxRecordBytes;
  if (options.minCleanableDirtyRatio !== undefined) out.minCleanableDirtyRatio = options.minCleanableDirtyRatio;
  return out;
}

/**
 * The options to store when a topic is opened with `given` over `stored`: given ones win, left-out
 * ones keep their stored values — also inside `retention` (its two limits are separate settings).
 */
export function mergeStored(stored: StoredTopicOptions | undefined, given: TopicOptions): StoredTopicOptions {
  const g = toStored(given);
  const out: StoredTopicOptions = { ...(stored ?? {}), ...g };
  if (g.retention !== undefined && stored?.retention !== undefined) out.retention = { ...stored.retention, ...g.retention };
  return out;
}

/** given options over stored ones over the log's defaults over the built-in defaults. */
export function resolveTopicOptions<V>(given: TopicOptions<V>, stored: StoredTopicOptions | undefined, defaults: TopicOptions): ResolvedTopicOptions<V> {
  const s = (stored ?? {}) as TopicOptions;
  const pick = <K extends keyof TopicOptions>(k: K): TopicOptions[K] => (given[k] !== undefined ? given[k] : s[k] !== undefined ? s[k] : defaults[k]);
  let codecOption = pick('codec') ?? 'binary';
  // stored 'custom' and no codec given: raw bytes until the user's codec is passed (codec-change.ts refuses a topic() call without it)
  const customCodecMissing = (codecOption as unknown) === CUSTOM_CODEC;
  if (typeof codecOption === 'string' && !isCodecName(codecOption)) codecOption = 'binary';
  // each retention limit on its own: a given one over the stored one over the default one
  const retention = { ...(defaults.retention ?? {}), ...(s.retention ?? {}), ...(given.retention ?? {}) };
  return {
    codecName: typeof codecOption === 'string' && !customCodecMissing ? codecOption : undefined,
    codec: resolveCodec(codecOption as CodecOption<V>),
    customCodecMissing,
    codecFrom: given.codec !== undefined ? 'given' : s.codec !== undefined ? 'stored' : 'default',
    segmentBytes: pick('segmentBytes') ?? SEGMENT_BYTES_DEFAULT,
    segmentMs: pick('segmentMs') ?? Infinity,
    indexIntervalBytes: pick('indexIntervalBytes') ?? INDEX_INTERVAL_BYTES_DEFAULT,
    retention: { maxAgeMs: retention.maxAgeMs ?? Infinity, maxBytes: retention.maxBytes ?? Infinity },
    cleanup: pick('cleanup') ?? 'delete',
    tombstoneRetentionMs: pick('tombstoneRetentionMs') ?? TOMBSTONE_RETENTION_MS_DEFAULT,
    maxRecordBytes: pick('maxRecordBytes') ?? RECORD_BYTES_MAX_DEFAULT,
    minCleanableDirtyRatio: pick('minCleanableDirtyRatio') ?? MIN_CLEANABLE_DIRTY_RATIO_DEFAULT,
  };
}
