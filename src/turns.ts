// Turns of the event loop for appends that settle without I/O of their own. Under 'os' an append
// settles at the end of its tick and under 'none' at once, so `for (;;) await topic.append(x)`
// would run on microtasks alone and starve every timer and I/O callback: the periodic fsync, the
// retention and compaction timers, compaction's slices, the application's own timers. A probe
// (one setImmediate, scheduled when none is pending) tells whether the loop has had a turn lately;
// once it has been waiting for STARVED_MS, settlements wait for that turn. An append loop then
// yields about every STARVED_MS (checked every 64 calls); appends spread over turns pay one
// setImmediate per turn.
//
// Crash: nothing here is on disk.

/** How long appends may keep the event loop from its next turn. */
export const STARVED_MS = 20;

let probePending = false;
let probeSince = 0;
/** Set once starvation is seen, until the turn: settlements stay deferred, so they keep their order. */
let starved = false;
let deferred: Array<() => void> = [];

function probe(): void {
  probePending = false;
  starved = false;
  const run = deferred;
  deferred = [];
  for (const f of run) f();
}

/** Calls since the probe was scheduled: the clock is read on every 64th only (appends under 'none' are ~100 ns). */
let calls = 0;

/** True when the event loop has been kept from its next turn for STARVED_MS. */
export function loopStarved(): boolean {
  if (starved) return true;
  if (!probePending) {
    probePending = true;
    probeSince = performance.now();
    calls = 0;
    setImmediate(probe);
    return false;
  }
  if ((++calls & 63) !== 0) return false;
  starved = performance.now() - probeSince >= STARVED_MS;
  return starved;
}

/** Runs `f` at the event loop's next turn (after timers and I/O callbacks had theirs). */
export function afterTurn(f: () => void): void {
  deferred.push(f);
}
