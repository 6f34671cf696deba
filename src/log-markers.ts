// The log's metadata markers, written once for many topics: the "not clean" markers of the topics
// first changed in a tick and the options of topics being created (put with MetaStore.putState /
// putTopicOptions `soon`, made durable by one commit before the first byte of any of them reaches
// the OS: TopicWriter.writePending, the roll), and the clean markers of the topics close() closed
// (one durable write once all are closed, after their data and indexes). In native-free each of
// these was a rewrite and fsync of the whole ~meta.json (quadratic in topics), in the default entry
// an LMDB sync transaction each.
//
// Crash: before a commit the markers are not durable, and nothing of those topics was written yet
// (the store still says what it said at open); a crash before close()'s write leaves the topics
// "not clean", and the next open scans from their recovery points.
import { ioError } from './base/errors.js';
import { isNoSpace, type SpaceReserve } from './io/space-reserve.js';
import type { MetaStore, TopicState } from './store/meta-store.js';

export class LogMarkers {
  /** Markers or new topics' options were put since the last commit. */
  uncommitted = false;
  /** Clean markers of the topics closed by close(), written together once all are (closedClean). */
  private readonly cleanStates = new Map<string, TopicState>();

  constructor(private readonly meta: MetaStore, private readonly dir: string, private readonly reserve: () => SpaceReserve | undefined) {}

  /** `topic` closed cleanly: its state is recorded with every other topic's by writeClean(). */
  closedClean(topic: string, state: TopicState): void {
    this.cleanStates.set(topic, state);
  }

  /**
   * One durable write of the store for what was put since the last one. A disk that filled while
   * the space reserve was in place gives the reserve back and tries again (as
   * TopicDurability.putStateSync). Throws ERR_IO (ERR_NO_SPACE).
   */
  commit(): void {
    try {
      try {
        this.meta.commitStates();
      } catch (err) {
        const reserve = this.reserve();
        if (!isNoSpace(err) || reserve === undefined || reserve.released) throw err;
        reserve.release();
        this.meta.commitStates();
      }
    } catch (err) {
      throw ioError('write metadata', this.dir, err);
    }
    this.uncommitted = false;
  }

  /** close(): the clean markers of every topic closed, in one durable write. */
  writeClean(): void {
    for (const [name, state] of this.cleanStates) this.meta.putState(name, state);
    this.commit();
  }
}
