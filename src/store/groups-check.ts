// The lines of `~groups.log` (docs/format.md, "Consumer group positions"): `<xxh32 of the JSON, 8
// hex digits> <JSON>\n`. Parsing one line, and finding damage that an open refuses: a bad line
// followed by a valid one (a bad last line is a torn tail, dropped at open). Used by the native-free
// store (native-free/file-groups.ts) and by verify().
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
