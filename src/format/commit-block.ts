// The commit block of a batch that carries a consumer-group commit (docs/format.md, "Commit
// block"): exactly-once consume-transform-produce. `out.appendBatch(records, { commit: sub })`
// writes the output records and "group G of topic T finished these input offsets" as one batch,
// under one checksum, so after any crash both are there or neither is; recovery re-applies a
// block whose commit the metadata store had not stored yet (recovery.ts, log.ts reapplyCommits).
//
// Layout, at the end of the batch, after its last record (inside batchBytes and the checksum):
//   varint topicLength, topic (UTF-8), varint groupLength, group (UTF-8),
//   varint rangeCount, rangeCount x (varint from, varint length)   -- finished [from, from+length)
//   u16 blockBytes (the length of everything above)
// The batch has ATTR_COMMIT set in its attributes. No I/O here.
import { readVarint, varintBytes, varintEnd, writeVarint } from './batch.js';

export { ATTR_COMMIT, commitBlockStart } from './batch.js';
/** Largest commit block (its length field is a u16). */
export const COMMIT_BLOCK_MAX = 0xffff;

/** What a commit block says: these offsets of `topic` are finished for `group` (flat [from, to) pairs). */
export interface CommitBlock {
  topic: string;
  group: string;
  ranges: number[];
}

/** Bytes of the block for `c`, its trailing u16 included. */
export function commitBlockBytes(c: CommitBlock): number {
  let n = varintBytes(Buffer.byteLength(c.topic)) + Buffer.byteLength(c.topic) + varintBytes(Buffer.byteLength(c.group)) + Buffer.byteLength(c.group);
  n += varintBytes(c.ranges.length / 2);
  for (let i = 0; i + 1 < c.ranges.length; i += 2) n += varintBytes(c.ranges[i]!) + varintBytes(c.ranges[i + 1]! - c.ranges[i]!);
  return n + 2;
}

/** Writes the block at `pos` (room for commitBlockBytes(c) bytes); returns the position after it. */
export function writeCommitBlock(buf: Buffer, pos: number, c: CommitBlock): number {
  const start = pos;
  const t = Buffer.from(c.topic, 'utf8');
  const g = Buffer.from(c.group, 'utf8');
  pos = writeVarint(buf, pos, t.length);
  buf.set(t, pos); pos += t.length;
  pos = writeVarint(buf, pos, g.length);
  buf.set(g, pos); pos += g.length;
  pos = writeVarint(buf, pos, c.ranges.length / 2);
  for (let i = 0; i + 1 < c.ranges.length; i += 2) {
    pos = writeVarint(buf, pos, c.ranges[i]!);
    pos = writeVarint(buf, pos, c.ranges[i + 1]! - c.ranges[i]!);
  }
  const len = pos - start;
  buf[pos++] = len & 0xff;
  buf[pos++] = len >>> 8;
  return pos;
}

/** Decodes the block in [start, end - 2) of a batch ending at `end`; a string says why it is not one. */
export function readCommitBlock(buf: Uint8Array, start: number, end: number): CommitBlock | string {
  const stop = end - 2;
  const tLen = readVarint(buf, start, stop);
  if (tLen < 1 || varintEnd + tLen > stop) return 'commit block: bad topic length';
  const topic = Buffer.from(buf.buffer, buf.byteOffset + varintEnd, tLen).toString('utf8');
  const gLen = readVarint(buf, varintEnd + tLen, stop);
  if (gLen < 1 || varintEnd + gLen > stop) return 'commit block: bad group length';
  const group = Buffer.from(buf.buffer, buf.byteOffset + varintEnd, gLen).toString('utf8');
  const count = readVarint(buf, varintEnd + gLen, stop);
  if (count < 0) return 'commit block: bad range count';
  const ranges: number[] = [];
  let p = varintEnd;
  let prev = -1;
  for (let i = 0; i < count; i++) {
    const from = readVarint(buf, p, stop);
    if (from < 0 || from < prev) return `commit block: range ${i} is out of order`;
    const len = readVarint(buf, varintEnd, stop);
    if (len < 1 || from + len > Number.MAX_SAFE_INTEGER) return `commit block: range ${i} has a bad length`;
    p = varintEnd;
    ranges.push(from, from + len);
    prev = from + len;
  }
  if (p !== stop) return 'commit block: its fields do not fill it exactly';
  return { topic, group, ranges };
}
