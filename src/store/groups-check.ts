// The lines of `~groups.log` (docs/format.md, "Consumer group positions"): `<xxh32 of the JSON, 8
// hex digits> <JSON>\n`. Parsing one line, and finding damage that an open refuses: a bad line
// followed by a valid one (a bad last line is a torn tail, dropped at open). Used by the native-free
// store (native-free/file-groups.ts) and by verify(). Also the shape of a group's handed-out
// offsets (both stores): a value of another shape is ignored (its counts start over; no record is
// skipped for it).
import { checksum } from '../format/checksum.js';

/** The entry of one line (without its newline), or undefined when it is damaged. */
export function parseGroupsLine(bytes: Buffer): unknown[] | undefined {
  if (bytes.length < 10 || bytes[8] !== 0x20) return undefined;
  const json = bytes.subarray(9);
  const sum = Number.parseInt(bytes.subarray(0, 8).toString('latin1'), 16);
  if (!Number.isInteger(sum) || sum !== checksum(json)) return undefined;
  try {
    const entry = JSON.parse(json.toString('utf8')) as unknown;
    return Array.isArray(entry) ? entry : undefined;
  } catch {
    return undefined;
  }
}

/** Byte position of the first bad line that a valid line follows (what an open refuses), or -1. */
export function groupsDamageAt(text: Buffer): number {
  let badAt = -1;
  for (let p = 0; p < text.length;) {
    const nl = text.indexOf(10, p);
    const end = nl < 0 ? text.length : nl;
    const entry = nl < 0 ? undefined : parseGroupsLine(text.subarray(p, end));
    if (entry === undefined) {
      if (badAt < 0) badAt = p;
    } else if (badAt >= 0) {
      return badAt;
    }
    p = end + 1;
  }
  return -1;
}

/**
 * A group's handed-out offsets as stored (`["i", ...]` lines, LMDB `\0given\0` keys): flat
 * [from, to, deliveries] triples of safe integers, from < to, ascending and disjoint, deliveries
 * >= 1. Returns them, or undefined for a value of another shape.
 */
export function inFlightTriples(value: unknown): number[] | undefined {
  if (!Array.isArray(value) || value.length % 3 !== 0) return undefined;
  let last = -1;
  for (let i = 0; i < value.length; i += 3) {
    const [from, to, n] = [value[i], value[i + 1], value[i + 2]] as unknown[];
    if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to) || !Number.isSafeInteger(n)) return undefined;
    if ((from as number) < last || (to as number) <= (from as number) || (n as number) < 1) return undefined;
    last = to as number;
  }
  return value as number[];
}
