// Every limit of the library, with its unit last in the name, and the reason for its value.

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Default segment size: Kafka's 1 GiB is too much for an embedded log; 64 MiB keeps retention fine-grained. */
export const SEGMENT_BYTES_DEFAULT = 64 * MiB;
/** Index positions are u32, so a segment must stay below 4 GiB; 2 GiB leaves room for the last batch. */
export const SEGMENT_BYTES_MAX = 2 * GiB;
/**
 * Any size is allowed: a segment always takes at least one batch, however large (tiny segments are
 * what tests use to force rolls, as Kafka's tiny segment.bytes are).
 */
export const SEGMENT_BYTES_MIN = 1;
export const INDEX_INTERVAL_BYTES_DEFAULT = 4 * KiB;
export const RECORD_BYTES_MAX_DEFAULT = 8 * MiB;
/** Records are framed with u32 lengths; 1 GiB is far beyond anything sensible in one record. */
export const RECORD_BYTES_MAX_LIMIT = 1 * GiB;
/** A topic's relative offsets in a segment are u32. */
export const SEGMENT_RECORDS_MAX = 0xffff_fff0;
export const TOMBSTONE_RETENTION_MS_DEFAULT = 24 * 60 * 60 * 1000;
export const FSYNC_INTERVAL_MS_DEFAULT = 1000;
export const TOPIC_NAME_LENGTH_MAX = 200;

/**
 * The emergency reserve (space-reserve.ts): room for what the library writes to free space on a full
 * disk (lock file, metadata transactions of a few pages, a clean close, compaction's first output).
 * Small next to any real disk; a 2 MiB tmpfs in the tests holds it many times over.
 */
export const SPACE_RESERVE_BYTES = 128 * KiB;

/** Sequential reads pull this much at once: big enough to amortise the syscall, small enough for RSS. */
export const READ_CHUNK_BYTES = 1 * MiB;
/** The append buffer starts small (many small topics) and doubles up to this size. */
export const WRITE_CHUNK_BYTES_MIN = 64 * KiB;
export const WRITE_CHUNK_BYTES_MAX = 1 * MiB;
/** Room behind each write chunk's end where appends of byte ranges stage what they copy (log/append-spans.ts). */
export const CHUNK_STAGE_BYTES = 8 * KiB;
/** Newest bytes of each topic kept in memory so tail readers never touch the file. */
export const TAIL_CACHE_BYTES = 4 * MiB;
/**
 * Regions read by get() kept per log. Without mmap every miss is a pread (~4 µs in a VM, bench W4),
 * while lmdb-js reads its map with no syscall at all: caching is how random reads keep up. Bounded
 * (and only filled by get(), never by scans) so memory stays predictable.
 */
export const READ_CACHE_BYTES_DEFAULT = 128 * MiB;
/** A get() miss also reads the regions that follow, up to this many bytes: one syscall for many misses. */
export const READ_SPAN_BYTES = 64 * KiB;
/** get() regions are read into slabs of this size (one allocation for many regions; never reused). */
export const READ_SLAB_BYTES = 1 * MiB;
/**
 * Key index entries (key -> newest offset) a writable LMDB store keeps in memory for latest()
 * (store/key-offset-cache.ts): an LMDB read per lookup was most of latest()'s time (bench W8).
 * About 100 bytes each with a short key, so a few MiB at most; the key index itself stays in LMDB.
 */
export const KEY_OFFSETS_CACHED_MAX = 65_536;
/** How often the log checks each topic for retention and compaction work besides rolls. */
export const MAINTENANCE_INTERVAL_MS = 30_000;
/** Kafka's min.cleanable.dirty.ratio default: compact once half of the closed bytes are dirty. */
export const MIN_CLEANABLE_DIRTY_RATIO_DEFAULT = 0.5;
/**
 * Mapped segments (segment/map-pool.ts) whose pages may stay resident, by bytes: past this the least
 * recently used mapping is madvise(MADV_DONTNEED)'d (its pages leave RSS and come back from the page
 * cache on the next touch; views stay valid). 128 MiB holds the two segments of bench W4's 1M
 * records, so random gets over them never refault; a scan also drops each segment it walked through.
 */
export const MAP_RESIDENT_BYTES_MAX = 128 * MiB;
/**
 * Mappings a log holds at once (least recently used dropped past it; views keep theirs until
 * collected). Each is one entry of vm.max_map_count (65,530 by default on Linux), which the whole
 * process (V8's heap, LMDB) shares: see MAP_LIVE_FRACTION.
 */
export const MAPPINGS_HELD_MAX = 1024;
/** At most this share of vm.max_map_count is taken by live mappings (held or kept by views); past it, reads. */
export const MAP_LIVE_FRACTION = 0.25;
/**
 * A following read-only log (openLog { follow: true }) looks at the files this often besides its
 * file watch, for file systems that drop watch events (network mounts, some containers). Cheap: a
 * look that finds nothing new is a readdir and a stat per topic (bench/follow.js).
 */
export const FOLLOW_POLL_MS_DEFAULT = 1000;
