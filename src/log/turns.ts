// Turns of the event loop for appends that settle without I/O of their own. Under 'os' an append
// settles at the end of its tick and under 'none' at once, so `for (;;) await topic.append(x)`
// would run on microtasks alone and starve every timer and I/O callback: the periodic fsync, the
// retention and compaction timers, compaction's slices, the application's own timers. A probe
// (one setImmediate, scheduled when none is pending) tells whether the loop has had a turn lately;
// once it has been waiting for STARVED_MS, settlements wait for that turn. An append loop then
// yields about every STARVED_MS, however long each append takes; appends spread over turns pay one
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

/**
 * Calls between two clock reads. Appends under 'none' cost ~100 ns, so reading the clock on every
 * call would cost more than the append; but a call can also take milliseconds (an append under 'os'
 * whose write waits for a busy disk), and then counting to 64 before looking would keep the loop
 * from its turn for seconds. So the stride starts at 1 after every turn and doubles while calls
 * stay cheap (up to 64 calls or READ_EVERY_MS between reads), and falls back to 1 as soon as one
 * read finds them slow: the loop waits at most about STARVED_MS plus a few calls.
 */
let stride = 1;
let calls = 0;
let lastRead = 0;
const MAX_STRIDE = 64;
const READ_EVERY_MS = 0.25;

/** True when the event loop has been kept from its next turn for STARVED_MS. */
export function loopStarved(): boolean {
  if (starved) return true;
  if (!probePending) {
    probePending = true;
    probeSince = lastRead = performance.now();
    calls = 0;
    stride = 1;
    setImmediate(probe);
    return false;
  }
  if (++calls < stride) return false;
  const now = performance.now();
  stride = now - lastRead < READ_EVERY_MS ? Math.min(stride * 2, MAX_STRIDE) : 1;
  calls = 0;
  lastRead = now;
  starved = now - probeSince >= STARVED_MS;
  return starved;
}

/** Runs `f` at the event loop's next turn (after timers and I/O callbacks had theirs). */
export function afterTurn(f: () => void): void {
  deferred.push(f);
}

/** An append under durability 'none' settles at once, unless appends starve the event loop. */
export function settledNone(offset: number): Promise<number> {
  return loopStarved() ? new Promise<number>((resolve) => afterTurn(() => resolve(offset))) : Promise.resolve(offset);
}
