// Sealing: which bytes of a segment may be mapped (segment.ts `sealedBytes`, map-pool.ts). A mapped
// file that is cut short kills the process with SIGBUS, so only a prefix that nothing will ever cut
// again is sealed, and Segment.truncateLog refuses to cut into it. What cuts a `.log`, and why none
// of it reaches a sealed prefix:
//   - recovery's cut of a torn or damaged tail (recovery.ts, recovery-cut.ts): at open, before
//     anything is sealed, and only past the recorded recovery point (a repair cuts anywhere, but it
//     is a writable open, before anything is sealed);
//   - a failed write (write-failure.ts writeFailed): back to the active segment's written size;
//   - a failed multi-record append (rollbackTo): back to its mark, in the segment that was active
//     when it began; a segment a pending append's mark points at is not sealed further;
//   - a failed fsync (forgetUnsynced): back to the synced recovery point; sealed bytes lie below it.
// Compaction replaces files by rename and retention unlinks them: a mapping keeps the old inode.
//
// A writable log seals, after its own recovery, every segment whole, the active one included (its
// recovered size: every later cut is past it, since every append comes after); then each rolled
// segment whole once the synced recovery point has moved past it. A read-only log (a follower next
// to a live writer, which may crash and recover, or fail an fsync and cut back) seals only what lies
// below the writer's recorded recovery point: whole segments before it, and the prefix of the one it
// is in. The writer never cuts below that point.
//
// Crash: nothing here is on disk.
import type { Segment } from '../segment/segment.js';
import type { Waiter } from './topic-context.js';

/** After the writer's own recovery at open: every segment as recovered, the active one included. */
export function sealRecovered(segments: Segment[]): void {
  for (const s of segments) s.seal(s.logBytes);
}

/** A read-only log: what lies below the writer's recorded recovery point (in segment `recoveryBase`, at `recoveryPosition`). */
export function sealBelow(segments: Segment[], recovery: { recoveryBase: number; recoveryPosition: number } | undefined): void {
  if (recovery === undefined) return;
  for (const s of segments) {
    if (s.baseOffset > recovery.recoveryBase) break;
    s.seal(s.baseOffset < recovery.recoveryBase ? s.logBytes : Math.min(recovery.recoveryPosition, s.logBytes));
  }
}

/**
 * A writable log, when the synced recovery point moves (into segment `syncedBase`): closed segments
 * below it, whole, oldest first, up to one a pending multi-record append may still cut back to (its
 * mark). Wholly sealed segments stay a prefix of the list, so the walk starts after the newest one,
 * unless `all` (a compaction spliced new segments in).
 */
export function sealDurable(segments: Segment[], syncedBase: number, waiters: Waiter[], all = false): void {
  const whole = (s: Segment): boolean => s.sealedBytes === s.logBytes;
  let i = segments.length - 1;
  while (i > 0 && (all || !whole(segments[i - 1]!))) i--;
  for (; i < segments.length - 1; i++) {
    const s = segments[i]!;
    if (whole(s)) continue;
    if (s.baseOffset >= syncedBase) break;
    if (waiters.some((w) => w.mark !== undefined && w.mark.seg === s)) break; // the next move seals it
    s.seal(s.logBytes);
  }
}
