// ProducedSpans: the records of a Produce partition as positions in the request (or in a batch's
// decompressed block), one row per record in growable typed arrays — no view or object per record.
// readProducedSpans (batch-reader.ts) fills it after checking every batch; the server appends it
// with Topic.appendSpans (format/record-spans.ts's RecordSpans is the shape the log takes) and
// reuses it for the next request: the arrays grow and are kept, `sources` and `headers` are cleared
// by reset() so that no request stays reachable.
//
// Crash: nothing here is on disk.
import type { HeadersInput } from '../../format/batch.js';

const INITIAL_ROWS = 1024;

export class ProducedSpans {
  /** Records held (rows 0..count-1 are meaningful; the arrays may be longer). */
  count = 0;
  /** Per record: the buffer its key, value and headers lie in. */
  sources: Buffer[] = [];
  keyPos = new Int32Array(INITIAL_ROWS);
  /** -1: no key. */
  keyLen = new Int32Array(INITIAL_ROWS);
  valuePos = new Int32Array(INITIAL_ROWS);
  /** -1: a null value (a tombstone). */
  valueLen = new Int32Array(INITIAL_ROWS);
  /** Where the record's first header starts (its name length varint), and how many it has. */
  headerPos = new Int32Array(INITIAL_ROWS);
  headerCount = new Int32Array(INITIAL_ROWS);
  /** Milliseconds since the epoch; -1 (NO_TIMESTAMP) when the producer set none. */
  timestamps = new Float64Array(INITIAL_ROWS);
  /** Per record with headers: the seglog headers the server made of them (sparse; filled by the caller). */
  headers: Array<HeadersInput | undefined> = [];
  /** Whether any record held has a header. */
  anyHeaders = false;

  /** Empties it (the arrays are kept) and lets go of the buffers it pointed into. */
  reset(): void {
    if (this.count > 0) {
      this.sources.fill(undefined as unknown as Buffer, 0, this.count);
      if (this.anyHeaders) this.headers.length = 0;
    }
    this.count = 0;
    this.anyHeaders = false;
  }

  /** Makes room for `more` rows. */
  reserve(more: number): void {
    const need = this.count + more;
    if (need <= this.keyPos.length) return;
    let rows = this.keyPos.length * 2;
    while (rows < need) rows *= 2;
    const grow = <T extends Int32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(rows);
      b.set(a.subarray(0, this.count));
      return b;
    };
    this.keyPos = grow(this.keyPos);
    this.keyLen = grow(this.keyLen);
    this.valuePos = grow(this.valuePos);
    this.valueLen = grow(this.valueLen);
    this.headerPos = grow(this.headerPos);
    this.headerCount = grow(this.headerCount);
    this.timestamps = grow(this.timestamps);
  }
}
