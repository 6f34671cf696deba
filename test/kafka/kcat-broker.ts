// A loopback "broker" that speaks just enough Kafka for kcat (librdkafka) to produce to it, so a
// test can capture the record batches a real librdkafka producer writes with each codec:
// ApiVersions (v0–v3; advertises what a Kafka 2.1 broker does, Metadata only up to v1), Metadata v1 (one broker: this
// one; every topic asked for with one partition led by it) and Produce v3–v7 (keeps each
// partition's `records` bytes and answers success). Nothing here is seglog: it is the fixture
// maker of test/fixtures/kafka/ (records-kcat.test.ts) and has no other use.
import { spawn } from 'node:child_process';
import net from 'node:net';

class In {
  pos = 0;
  constructor(readonly buf: Buffer) {}
  i8(): number { return this.buf.readInt8((this.pos += 1) - 1); }
  i16(): number { return this.buf.readInt16BE((this.pos += 2) - 2); }
  i32(): number { return this.buf.readInt32BE((this.pos += 4) - 4); }
  str(): string | null {
    const n = this.i16();
    if (n < 0) return null;
    return this.buf.toString('utf8', this.pos, (this.pos += n));
  }
  bytes(): Buffer | null {
    const n = this.i32();
    if (n < 0) return null;
    return this.buf.subarray(this.pos, (this.pos += n));
  }
  uvarint(): number {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = this.buf[this.pos++]!;
      v |= (b & 0x7f) << shift;
      if (b < 0x80) return v;
    }
  }
  skipTags(): void {
    for (let n = this.uvarint(); n > 0; n--) {
      this.uvarint();
      this.pos += this.uvarint();
    }
  }
}

class Out {
  parts: Buffer[] = [];
  private fixed(n: number, write: (b: Buffer) => void): this { const b = Buffer.alloc(n); write(b); this.parts.push(b); return this; }
  i8(v: number): this { return this.fixed(1, (b) => b.writeInt8(v)); }
  i16(v: number): this { return this.fixed(2, (b) => b.writeInt16BE(v)); }
  i32(v: number): this { return this.fixed(4, (b) => b.writeInt32BE(v)); }
  i64(v: number): this { return this.fixed(8, (b) => b.writeBigInt64BE(BigInt(v))); }
  str(s: string | null): this {
    if (s === null) return this.i16(-1);
    this.i16(Buffer.byteLength(s));
    this.parts.push(Buffer.from(s));
    return this;
  }
  uvarint(v: number): this {
    const bytes: number[] = [];
    while (v >= 0x80) { bytes.push((v & 0x7f) | 0x80); v >>>= 7; }
    bytes.push(v);
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  frame(correlationId: number): Buffer {
    const body = Buffer.concat(this.parts);
    const head = Buffer.alloc(8);
    head.writeInt32BE(body.length + 4);
    head.writeInt32BE(correlationId, 4);
    return Buffer.concat([head, body]);
  }
}

// librdkafka turns features on by the versions advertised (LZ4 wants FindCoordinator, MsgVer2
// Produce 3 and Fetch 4, ZSTD Produce 7 and Fetch 10): advertise what a Kafka 2.1 broker does, so
// every codec is enabled. Only ApiVersions, Metadata and Produce are ever called by a producer.
const APIS: Array<[number, number, number]> = [
  [0, 0, 7], [1, 0, 11], [2, 0, 4], [3, 0, 1], [8, 0, 6], [9, 0, 5], [10, 0, 2], [11, 0, 4], [12, 0, 2],
  [13, 0, 2], [14, 0, 2], [15, 0, 2], [16, 0, 2], [17, 0, 1], [18, 0, 3], [19, 0, 3], [20, 0, 3], [22, 0, 1],
];

function respond(header: { apiKey: number; apiVersion: number }, body: In, port: number, captured: Buffer[]): Out | null {
  const out = new Out();
  switch (header.apiKey) {
    case 18: // ApiVersions
      out.i16(0);
      if (header.apiVersion >= 3) {
        out.uvarint(APIS.length + 1);
        for (const [key, min, max] of APIS) out.i16(key).i16(min).i16(max).uvarint(0);
        out.i32(0).uvarint(0);
      } else {
        out.i32(APIS.length);
        for (const [key, min, max] of APIS) out.i16(key).i16(min).i16(max);
        if (header.apiVersion >= 1) out.i32(0);
      }
      return out;
    case 3: { // Metadata v1
      const n = body.i32();
      const topics: string[] = [];
      for (let i = 0; i < n; i++) topics.push(body.str()!);
      out.i32(1).i32(0).str('127.0.0.1').i32(port).str(null); // brokers
      out.i32(0); // controller
      out.i32(topics.length);
      for (const t of topics) out.i16(0).str(t).i8(0).i32(1).i16(0).i32(0).i32(0).i32(1).i32(0).i32(1).i32(0);
      return out;
    }
    case 0: { // Produce v3–v7
      body.str(); // transactional id
      const acks = body.i16();
      body.i32(); // timeout
      const topics: Array<[string, number[]]> = [];
      for (let t = body.i32(); t > 0; t--) {
        const name = body.str()!;
        const partitions: number[] = [];
        for (let p = body.i32(); p > 0; p--) {
          partitions.push(body.i32());
          const records = body.bytes();
          if (records) captured.push(Buffer.from(records));
        }
        topics.push([name, partitions]);
      }
      if (acks === 0) return null;
      out.i32(topics.length);
      for (const [name, partitions] of topics) {
        out.str(name).i32(partitions.length);
        for (const p of partitions) {
          out.i32(p).i16(0).i64(captured.length).i64(-1);
          if (header.apiVersion >= 5) out.i64(0);
        }
      }
      return out.i32(0);
    }
    default:
      throw new Error(`kcat-broker: api ${header.apiKey} v${header.apiVersion} not expected`);
  }
}

/**
 * Runs `kcat -P` against a loopback broker with `args` (e.g. `['-z', 'gzip', '-K:']`) and `input` on
 * its stdin; resolves with the `records` field of every partition of every Produce request.
 */
export async function captureKcat(args: string[], input: string, kcat = '/usr/bin/kcat'): Promise<Buffer[]> {
  const captured: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 4 && pending.length >= 4 + pending.readInt32BE(0)) {
        const frame = pending.subarray(4, 4 + pending.readInt32BE(0));
        pending = pending.subarray(4 + frame.length);
        const r = new In(frame);
        const header = { apiKey: r.i16(), apiVersion: r.i16(), correlationId: r.i32() };
        r.str(); // client id
        if (header.apiKey === 18 && header.apiVersion >= 3) r.skipTags(); // request header v2
        const out = respond(header, r, port, captured);
        if (out) socket.write(out.frame(header.correlationId));
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const child = spawn(kcat, ['-b', `127.0.0.1:${port}`, '-P', '-t', 't', '-X', 'linger.ms=100', ...args], { stdio: ['pipe', 'ignore', 'pipe'] });
    child.stderr.on('data', (d) => { if (process.env.KCAT_DEBUG) process.stderr.write(d); });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdin.end(input);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', resolve);
    });
    if (code !== 0) throw new Error(`kcat exited with ${code}: ${stderr}`);
    return captured;
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}
