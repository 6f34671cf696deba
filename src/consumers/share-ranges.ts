// Offset ranges as a group's share keeps them (group-share.ts): flat ascending lists of disjoint
// ranges [from, to) ("pairs": from0, to0, from1, to1, ...), and ranges with a count ("runs":
// from0, to0, n0, from1, to1, n1, ...: every offset in [from, to) has count n > 0; offsets in no
// run have count 0). Every operation costs the length of the lists, never the number of offsets a
// range covers: a member that leaves with 1,024 records in hand releases them in a few steps, not
// one Map entry and one splice per record (bench W7 members: four members closing at the end).
//
// Crash: nothing here is on disk.

/** Adds [from, to) to a flat ascending list of disjoint pairs, merging neighbours. */
export function insertRange(list: number[], from: number, to: number): void {
  let i = 0;
  while (i < list.length && list[i + 1]! < from) i += 2;
  let j = i;
  let lo = from;
  let hi = to;
  while (j < list.length && list[j]! <= hi) {
    lo = Math.min(lo, list[j]!);
    hi = Math.max(hi, list[j + 1]!);
    j += 2;
  }
  list.splice(i, j - i, lo, hi);
}

export function inRanges(list: number[], offset: number): boolean {
  for (let i = 0; i < list.length && list[i]! <= offset; i += 2) if (offset < list[i + 1]!) return true;
  return false;
}

/** Removes [from, to) from a flat ascending list of disjoint pairs. */
export function removeRange(list: number[], from: number, to: number): void {
  if (to <= from) return;
  const out: number[] = [];
  for (let i = 0; i < list.length; i += 2) {
    const a = list[i]!;
    const b = list[i + 1]!;
    if (b <= from || a >= to) {
      out.push(a, b);
      continue;
    }
    if (a < from) out.push(a, from);
    if (b > to) out.push(to, b);
  }
  list.length = 0;
  for (const x of out) list.push(x);
}

/** The parts of [from, to) in no pair of `list` (flat pairs, ascending). */
export function rangesOutside(list: number[], from: number, to: number): number[] {
  const out: number[] = [];
  let at = from;
  for (let i = 0; i < list.length && at < to; i += 2) {
    const a = list[i]!;
    const b = list[i + 1]!;
    if (b <= at) continue;
    if (a >= to) break;
    if (a > at) out.push(at, a);
    at = Math.max(at, b);
  }
  if (at < to) out.push(at, to);
  return out;
}

/** The count of `offset` in a run list (0 when in no run). */
export function runCount(runs: number[], offset: number): number {
  for (let i = 0; i + 2 < runs.length && runs[i]! <= offset; i += 3) if (offset < runs[i + 1]!) return runs[i + 2]!;
  return 0;
}

/** Appends [from, to, n] to a run list being built in ascending order, merging an equal neighbour. */
function pushRun(out: number[], from: number, to: number, n: number): void {
  if (to <= from || n <= 0) return;
  const last = out.length - 3;
  if (last >= 0 && out[last + 1] === from && out[last + 2] === n) out[last + 1] = to;
  else out.push(from, to, n);
}

/** Replaces `runs` by `out`. */
function replace(runs: number[], out: number[]): void {
  runs.length = 0;
  for (const x of out) runs.push(x);
}

/** Every offset in [from, to) gets count 0 (leaves the runs). */
export function clearRuns(runs: number[], from: number, to: number): void {
  if (to <= from || runs.length === 0) return;
  // (the common case, finishing records that never failed, touches nothing: no copy)
  let i = 0;
  while (i < runs.length && runs[i + 1]! <= from) i += 3;
  if (i >= runs.length || runs[i]! >= to) return;
  const out: number[] = [];
  for (let i = 0; i + 2 < runs.length; i += 3) {
    const a = runs[i]!;
    const b = runs[i + 1]!;
    const n = runs[i + 2]!;
    if (b <= from || a >= to) {
      pushRun(out, a, b, n);
      continue;
    }
    if (a < from) pushRun(out, a, from, n);
    if (b > to) pushRun(out, to, b, n);
  }
  replace(runs, out);
}

/** Every offset in [from, to) gets count `n` (n > 0). */
export function setRuns(runs: number[], from: number, to: number, n: number): void {
  if (to <= from) return;
  clearRuns(runs, from, to);
  let i = 0;
  while (i < runs.length && runs[i + 1]! <= from) i += 3;
  runs.splice(i, 0, from, to, n);
  const out: number[] = [];
  for (let k = 0; k + 2 < runs.length; k += 3) pushRun(out, runs[k]!, runs[k + 1]!, runs[k + 2]!);
  replace(runs, out);
}

/** Every offset in [from, to) counts one more (offsets in no run get 1). */
export function incrementRuns(runs: number[], from: number, to: number): void {
  if (to <= from) return;
  const out: number[] = [];
  let at = from; // the next offset of [from, to) not yet counted
  for (let i = 0; i + 2 < runs.length; i += 3) {
    const a = runs[i]!;
    const b = runs[i + 1]!;
    const n = runs[i + 2]!;
    if (b <= from || a >= to) {
      if (a >= to && at < to) { pushRun(out, at, to, 1); at = to; }
      pushRun(out, a, b, n);
      continue;
    }
    if (a < from) pushRun(out, a, from, n);
    if (a > at) pushRun(out, at, a, 1);
    const lo = Math.max(a, from);
    const hi = Math.min(b, to);
    pushRun(out, lo, hi, n + 1);
    at = hi;
    if (b > to) pushRun(out, to, b, n);
  }
  if (at < to) pushRun(out, at, to, 1);
  replace(runs, out);
}

/**
 * Calls `each(from, to, n)` for the parts of [from, to) in order, n being the count there (0 in
 * the gaps between runs).
 */
export function forRuns(runs: number[], from: number, to: number, each: (from: number, to: number, n: number) => void): void {
  let at = from;
  for (let i = 0; i + 2 < runs.length && at < to; i += 3) {
    const a = runs[i]!;
    const b = runs[i + 1]!;
    if (b <= at) continue;
    if (a >= to) break;
    if (a > at) each(at, a, 0);
    const hi = Math.min(b, to);
    each(Math.max(a, at), hi, runs[i + 2]!);
    at = hi;
  }
  if (at < to) each(at, to, 0);
}
