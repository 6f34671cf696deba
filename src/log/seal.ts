// Sealing: when a closed segment may be mapped (segment.ts `sealed`, map-pool.ts). A mapped file
// that is cut kills the process with SIGBUS, so a segment is sealed only once nothing will ever cut
// its `.log` again, and Segment.truncateLog refuses a sealed one. What cuts a `.log`, and why
// none of it reaches a sealed segment:
//   - recovery's cut of a torn or damaged tail (recovery.ts, recovery-cut.ts): runs at open, before
//     anything is sealed, and only past the recorded recovery point (a repair: anywhere, but a
//     repair is a writable open, with nothing sealed yet);
//   - a failed write (write-failure.ts writeFailed): the segment being written, the active one;
//   - a failed multi-record append (rollbackTo): back to its mark, in the segment that was active
//     when it began; a segment a pending append's mark points at is not sealed;
//   - a failed fsync (forgetUnsynced): back to the synced recovery point, in its segment; sealed
//     segments lie wholly below it.
// Compaction replaces files by rename and retention unlinks them: a mapping keeps the old inode.
//
// A writable log seals every closed segment after its own recovery, then each rolled segment once
// the synced recovery point has moved past it. A read-only log (a follower next to a live writer,
// which may crash and recover, or fail an fsync and cut back) seals only segments wholly below the
// writer's recorded recovery point: the writer never cuts below it.
//
// Crash: nothing here is on disk.
import type { Segment } from '../segment/segment.js';
import type { Waiter } from './topic-context.js';

/** After the writer's own recovery at open: every closed segment is final. */
export function sealClosed(segments: Segment[]): void {
  for (let i = 0; i < segments.length - 1; i++) segments[i]!.sealed = true;
}

/** A read-only log: closed segments wholly below the writer's recorded recovery point (the segment it is in: `recoveryBase`). */
export function sealBelow(segments: Segment[], recoveryBase: number | undefined): void {
  if (recoveryBase === undefined) return;
  for (let i = 0; i < segments.length - 1; i++) {
    const s = segments[i]!;
    if (s.baseOffset >= recoveryBase) break;
    s.sealed = true;
  }
}

/**
 * A writable log, when the synced recovery point moves (into segment `syncedBase`): closed segments
 * below it, oldest first, up to one a pending multi-record append may still cut back to (its mark).
 * Sealed segments stay a prefix of the list, so the walk starts after the newest sealed one, unless
 * `all` (a compaction spliced new segments in).
 */
export function sealDurable(segments: Segment[], syncedBase: number, waiters: Waiter[], all = false): void {
  let i = segments.length - 1;
  while (i > 0 && (all || !segments[i - 1]!.sealed)) i--;
  for (; i < segments.length - 1; i++) {
    const s = segments[i]!;
    if (s.sealed) continue;
    if (s.baseOffset >= syncedBase) break;
    if (waiters.some((w) => w.mark !== undefined && w.mark.seg === s)) break; // the next move seals it
    s.sealed = true;
  }
}
