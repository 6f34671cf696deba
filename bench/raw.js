// The raw-fs ceiling: a framed file (4-byte little-endian length + value, back to back) written
// with fs.writeSync of 1 MiB chunks and read with fs.readSync of 1 MiB chunks. No checksums, no
// offsets, no index: the fastest a Node program can move these bytes through the page cache.
import fs from 'node:fs';

export const CHUNK = 1 << 20;

/** Appends `n` framed values to `file`; a fresh 1 MiB Buffer per chunk (never reused). */
export function rawWrite(file, n, values, { fsyncAtEnd = false } = {}) {
  const mask = values.length - 1;
  const fd = fs.openSync(file, 'w');
  try {
    let chunk = Buffer.allocUnsafe(CHUNK);
    let pos = 0;
    for (let i = 0; i < n; i++) {
      const v = values[i & mask];
      const need = 4 + v.length;
      if (pos + need > CHUNK) {
        fs.writeSync(fd, chunk, 0, pos);
        chunk = Buffer.allocUnsafe(CHUNK);
        pos = 0;
      }
      chunk.writeUInt32LE(v.length, pos);
      v.copy(chunk, pos + 4);
      pos += need;
    }
    if (pos > 0) fs.writeSync(fd, chunk, 0, pos);
    if (fsyncAtEnd) fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads the whole framed file with 1 MiB readSync calls into fresh buffers, taking a subarray
 * view per record, and calls visit(view) (or just sums lengths when visit is omitted).
 * A frame cut by a chunk boundary is carried to the start of the next chunk.
 * Returns { records, bytes }.
 */
export function rawScan(file, visit) {
  const fd = fs.openSync(file, 'r');
  let records = 0;
  let bytes = 0;
  try {
    let carry = null;
    for (;;) {
      const buf = Buffer.allocUnsafe(CHUNK);
      let have = 0;
      if (carry) {
        have = carry.copy(buf, 0);
        carry = null;
      }
      const got = fs.readSync(fd, buf, have, CHUNK - have, null);
      const end = have + got;
      if (end === 0) break;
      let p = 0;
      while (p + 4 <= end) {
        const len = buf.readUInt32LE(p);
        if (p + 4 + len > end) break;
        const view = buf.subarray(p + 4, p + 4 + len);
        if (visit) visit(view);
        bytes += view.length;
        records++;
        p += 4 + len;
      }
      if (p < end) {
        if (got === 0) throw new Error(`raw file ${file} ends inside a frame`);
        carry = buf.subarray(p, end);
      } else if (got === 0) {
        break;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
  return { records, bytes };
}

/** File positions of every frame (built outside any timing, for the W4 pread ceiling). */
export function rawPositions(file, n) {
  const positions = new Float64Array(n);
  let pos = 0;
  let i = 0;
  rawScan(file, (view) => {
    positions[i++] = pos;
    pos += 4 + view.length;
  });
  if (i !== n) throw new Error(`raw file ${file}: expected ${n} records, found ${i}`);
  return positions;
}
