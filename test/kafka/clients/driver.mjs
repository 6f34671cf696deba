// Plumbing shared by the client drivers (kafkajs.mjs, platformatic.mjs, kcat.mjs): each driver is a
// child process that reads one JSON request on stdin ({ op, brokers, ... }), runs it against a
// Kafka server with a real client, prints one JSON line on stdout ({ ok: true, ... } or
// { ok: false, error }) and exits by itself: every run has an overall deadline (timeoutMs, default
// 60 s) after which it prints a timeout error and exits 3, whatever the client is doing.
// Records travel as JSON: { key: string | null, value: string, headers: { name: string },
// partition, timestamp? } with strings as UTF-8; consumed records add offset (a number).

/** Reads the request, runs `ops[request.op]`, prints the result and exits. */
export async function runDriver(name, ops) {
  let input = '';
  for await (const chunk of process.stdin) input += chunk;
  const request = JSON.parse(input);
  const timeoutMs = request.timeoutMs ?? 60_000;
  const timer = setTimeout(() => finish(3, { ok: false, error: `${name} ${request.op}: no result within ${timeoutMs} ms` }), timeoutMs);
  const op = ops[request.op];
  if (!op) finish(2, { ok: false, error: `${name}: unknown op ${request.op}` });
  try {
    const result = await op(request);
    clearTimeout(timer);
    finish(0, { ok: true, ...result });
  } catch (err) {
    finish(1, { ok: false, error: String(err?.stack ?? err) });
  }
}

function finish(code, result) {
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(code));
}

/** Resolves once `pred()` holds (checked every `everyMs`); rejects naming `what` after `limitMs`. */
export async function until(pred, what, limitMs = 30_000, everyMs = 20) {
  const deadline = Date.now() + limitMs;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`${typeof what === 'function' ? what() : what}: not reached within ${limitMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** A Map of "partition:offset" → count, and the records seen, for group consumption checks. */
export class Seen {
  constructor() {
    this.records = [];
    this.count = new Map();
  }
  add(record) {
    const id = `${record.partition}:${record.offset}`;
    this.count.set(id, (this.count.get(id) ?? 0) + 1);
    this.records.push(record);
  }
  /** Distinct records seen. */
  get distinct() {
    return this.count.size;
  }
}

export const headersObject = (entries) => Object.fromEntries(entries.map(([k, v]) => [String(k), v === null || v === undefined ? null : Buffer.from(v).toString('utf8')]));
