// `seglog dump`: the batches and records of a topic's segment files, as `kafka-dump-log` prints
// them: positions, offsets, timestamps, sizes and checksums, each batch checked with the same test
// recovery applies (segment.ts checkBatch). It reads the files directly (no openLog, no lock, no
// metadata), so it works on a damaged log, next to a writer, or on a copy. It changes nothing.
import fs from 'node:fs';
import path from 'node:path';
import { binaryCodec } from '../format/codecs.js';
import {
  ATTR_COMMIT, BATCH_HEADER_BYTES, H_ATTRIBUTES, H_BASE_OFFSET, H_BASE_TIMESTAMP, H_BATCH_BYTES, H_CHECKSUM, H_LAST_OFFSET_DELTA, H_MAX_TIMESTAMP,
  H_RECORD_COUNT, LOG_SUFFIX, parseSegmentFileName, readU32, readU64, segmentFileName,
} from '../format/batch.js';
import { commitBlockStart, readCommitBlock } from '../format/commit-block.js';
import { READ_CHUNK_BYTES } from '../base/limits.js';
import { decodeRecord, recordEnd } from '../format/record.js';
import { checkBatch } from '../segment/segment.js';
import { checksumReady } from '../format/checksum.js';
import { CliError, EXIT } from './errors.js';
import { checkDirectory } from './open.js';
import { Progress, offsetRange, out, plural, renderBytes } from './output.js';

export interface DumpOptions {
  segment: number | undefined;
  batchesOnly: boolean;
}

/** Returns true when every batch was valid. */
export async function dumpCommand(dirIn: string, topic: string, options: DumpOptions): Promise<boolean> {
  const dir = checkDirectory(dirIn);
  await checksumReady(); // the wasm hasher, as openLog and verify wait for it
  const topicDir = path.join(dir, topic);
  if (!fs.existsSync(topicDir) || !fs.statSync(topicDir).isDirectory()) {
    const names = fs.readdirSync(dir).filter((e) => !e.includes('~') && fs.statSync(path.join(dir, e)).isDirectory());
    throw new CliError(EXIT.noTopic, `no topic ${JSON.stringify(topic)} in ${dir} (${names.length === 0 ? 'it has no topics' : `topics: ${names.sort().join(', ')}`})`);
  }
  let bases = fs.readdirSync(topicDir).map((f) => parseSegmentFileName(f, LOG_SUFFIX)).filter((b) => b >= 0).sort((a, b) => a - b);
  if (options.segment !== undefined) {
    if (!bases.includes(options.segment)) {
      throw new CliError(EXIT.usage, `topic ${topic} has no segment ${options.segment} (segments: ${bases.join(', ') || 'none'})`);
    }
    bases = [options.segment];
  }
  const files = bases.map((b) => ({ base: b, file: path.join(topicDir, segmentFileName(b, LOG_SUFFIX)) }));
  const total = files.reduce((n, f) => n + fs.statSync(f.file).size, 0);
  const progress = new Progress('dump');
  let done = 0;
  let ok = true;
  let expected = -1;
  for (const { base, file } of files) {
    const size = fs.statSync(file).size;
    await out(`Dumping ${file} (${plural(size, 'byte')}, base offset ${base})`);
    if (expected >= 0 && base !== expected) {
      await out(`${offsetRange(expected, base - 1)} ${base - 1 === expected ? 'is' : 'are'} missing: the previous segment ends at ${expected}`);
      ok = false;
    }
    const fd = fs.openSync(file, 'r');
    try {
      let pos = 0;
      let next = base;
      let buf: Buffer = Buffer.alloc(0);
      let bufPos = 0;
      while (pos < size) {
        // The window holds the next batch whole when the file does (as Segment.scan reads).
        let p = pos - bufPos;
        if (p + BATCH_HEADER_BYTES > buf.length) {
          buf = readAt(fd, pos, Math.min(READ_CHUNK_BYTES, size - pos));
          bufPos = pos;
          p = 0;
        }
        const claimed = buf.length - p >= 4 ? readU32(buf, p + H_BATCH_BYTES) : 0;
        if (claimed >= BATCH_HEADER_BYTES && p + claimed > buf.length && pos + claimed <= size) {
          buf = readAt(fd, pos, claimed);
          bufPos = pos;
          p = 0;
        }
        const reason = checkBatch(buf, p, Math.min(buf.length - p, size - pos), next);
        if (reason !== null) {
          await out(`batch position: ${pos} INVALID: ${reason}`);
          ok = false;
          break;
        }
        const len = readU32(buf, p + H_BATCH_BYTES);
        const baseOffset = readU64(buf, p + H_BASE_OFFSET);
        const lastOffset = baseOffset + readU32(buf, p + H_LAST_OFFSET_DELTA);
        const count = readU32(buf, p + H_RECORD_COUNT);
        const baseTs = readU64(buf, p + H_BASE_TIMESTAMP);
        await out(`batch position: ${pos} baseOffset: ${baseOffset} lastOffset: ${lastOffset} count: ${count} size: ${len}`
          + ` baseTimestamp: ${iso(baseTs)} maxTimestamp: ${iso(readU64(buf, p + H_MAX_TIMESTAMP))}`
          + ` checksum: 0x${readU32(buf, p + H_CHECKSUM).toString(16).padStart(8, '0')} valid`);
        if ((buf[p + H_ATTRIBUTES]! & ATTR_COMMIT) !== 0) {
          // (checkBatch validated the block)
          const c = readCommitBlock(buf, commitBlockStart(buf, p, len, BATCH_HEADER_BYTES), p + len);
          if (typeof c !== 'string') {
            const ranges: string[] = [];
            for (let i = 0; i < c.ranges.length; i += 2) ranges.push(`${c.ranges[i]}..${c.ranges[i + 1]! - 1}`);
            await out(`  commit: topic: ${c.topic} group: ${c.group} finished: ${ranges.join(',')}`);
          }
        }
        if (!options.batchesOnly) {
          let rp = p + BATCH_HEADER_BYTES;
          for (let i = 0; i < count; i++) {
            const rec = decodeRecord(buf, rp, p + len, baseOffset, baseTs, binaryCodec);
            rp = recordEnd;
            const headers = Object.entries(rec.headers).map(([k, v]) => `${k}=${renderBytes(v)}`).join(',');
            await out(`  offset: ${rec.offset} timestamp: ${iso(rec.timestamp)} key: ${rec.key === undefined ? '-' : renderBytes(rec.key)}`
              + `${headers.length > 0 ? ` headers: ${headers}` : ''} size: ${rec.valueBytes === null ? 'tombstone' : rec.valueBytes.length}`
              + `${rec.valueBytes === null ? '' : ` value: ${renderBytes(rec.valueBytes)}`}`);
          }
        }
        next = lastOffset + 1;
        pos += len;
        progress.update(done + pos, total, path.basename(file));
      }
      expected = next;
    } finally {
      fs.closeSync(fd);
    }
    done += size;
    progress.update(done, total);
  }
  progress.done();
  return ok;
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got);
}

function iso(ms: number): string {
  return ms >= 0 && ms <= 8.64e15 ? new Date(ms).toISOString() : String(ms);
}
