// The range lists of a group's share (src/consumers/share-ranges.ts: pairs of finished, released
// or held offsets; runs of delivery counts), checked against a per-offset oracle under random
// operations: what the share did offset by offset before it kept counts as runs.
import { describe, expect, test } from 'vitest';
import { clearRuns, forRuns, incrementRuns, insertRange, inRanges, rangesOutside, removeRange, runCount, setRuns } from '../src/consumers/share-ranges.js';
import { Rng } from './helpers.js';

const SPAN = 60;

function countsOf(runs: number[]): number[] {
  const out = new Array<number>(SPAN).fill(0);
  for (let i = 0; i + 2 < runs.length; i += 3) for (let o = runs[i]!; o < runs[i + 1]!; o++) out[o] = runs[i + 2]!;
  return out;
}

/** Runs are ascending, disjoint, non-empty, with counts > 0, and no two touching runs share a count. */
function checkRuns(runs: number[]): void {
  expect(runs.length % 3).toBe(0);
  for (let i = 0; i + 2 < runs.length; i += 3) {
    expect(runs[i]!).toBeLessThan(runs[i + 1]!);
    expect(runs[i + 2]!).toBeGreaterThan(0);
    if (i >= 3) {
      expect(runs[i]!).toBeGreaterThanOrEqual(runs[i - 2]!);
      if (runs[i] === runs[i - 2]) expect(runs[i + 2]).not.toBe(runs[i - 1]);
    }
  }
}

describe('share ranges', () => {
  test.each([1, 2, 3, 4, 5, 6, 7, 8])('runs of counts agree with a per-offset model (seed %i)', (seed) => {
    const rng = new Rng(seed);
    const runs: number[] = [];
    const model = new Array<number>(SPAN).fill(0);
    for (let step = 0; step < 400; step++) {
      const a = rng.int(0, SPAN - 1);
      const b = a + rng.int(0, Math.min(12, SPAN - a));
      const op = rng.int(0, 3);
      if (op === 0) { incrementRuns(runs, a, b); for (let o = a; o < b; o++) model[o]!++; }
      if (op === 1) { clearRuns(runs, a, b); for (let o = a; o < b; o++) model[o] = 0; }
      if (op === 2) { const n = rng.int(1, 3); setRuns(runs, a, b, n); for (let o = a; o < b; o++) model[o] = n; }
      if (op === 3) {
        const seen: number[] = [];
        forRuns(runs, a, b, (from, to, n) => { for (let o = from; o < to; o++) { expect(o).toBe(a + seen.length); seen.push(n); } });
        expect(seen).toEqual(model.slice(a, b));
      }
      checkRuns(runs);
      expect(countsOf(runs)).toEqual(model);
      const o = rng.int(0, SPAN - 1);
      expect(runCount(runs, o)).toBe(model[o]);
    }
  });

  test.each([1, 2, 3, 4])('pairs agree with a per-offset model (seed %i)', (seed) => {
    const rng = new Rng(seed);
    const list: number[] = [];
    const model = new Array<boolean>(SPAN).fill(false);
    for (let step = 0; step < 400; step++) {
      const a = rng.int(0, SPAN - 1);
      const b = a + rng.int(1, Math.min(12, SPAN - a));
      if (rng.bool()) { insertRange(list, a, b); for (let o = a; o < b; o++) model[o] = true; } else { removeRange(list, a, b); for (let o = a; o < b; o++) model[o] = false; }
      for (let o = 0; o < SPAN; o++) expect(inRanges(list, o)).toBe(model[o]);
      const outside = rangesOutside(list, a, b);
      const expected: number[] = [];
      for (let o = a; o < b; o++) if (!model[o]) { if (expected.length > 0 && expected[expected.length - 1] === o) expected[expected.length - 1] = o + 1; else expected.push(o, o + 1); }
      expect(outside).toEqual(expected);
    }
  });
});
