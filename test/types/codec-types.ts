// Type assertions (never run): the value type of `log.topic()` follows its codec, in both entry
// points. Checked by `tsc -p tsconfig.json` (npm run typecheck) and by test/typing.test.ts, which
// compiles this file on its own: an assertion that stops holding, or a `@ts-expect-error` line that
// starts to type-check, fails both.
import { expectTypeOf } from 'vitest';
import type { Codec, Log, LogRecord, Subscription, Topic } from '../../src/index.js';
import type { openLog as openDefault } from '../../src/index.js';
import type { openLog as openNativeFree, Log as NativeFreeLog } from '../../native-free/index.js';

// Both entries hand out the same Log, so everything below holds for both.
expectTypeOf<Awaited<ReturnType<typeof openDefault>>>().toEqualTypeOf<Log>();
expectTypeOf<Awaited<ReturnType<typeof openNativeFree>>>().toEqualTypeOf<Log>();
expectTypeOf<NativeFreeLog>().toEqualTypeOf<Log>();

interface Order { id: number; total: number }
type Point = { x: number; y: number };
declare const pointCodec: Codec<Point>;
declare const dateCodec: Codec<Date>;
declare const someCodecName: 'binary' | 'string' | 'json' | 'msgpack';

export function codecsSetTheValueType(log: Log): void {
  // no codec and 'binary': Buffer
  expectTypeOf(log.topic('b')).toEqualTypeOf<Topic<Buffer>>();
  expectTypeOf(log.topic('b', { codec: 'binary' })).toEqualTypeOf<Topic<Buffer>>();
  expectTypeOf(log.topic('b', { segmentBytes: 1 << 20 })).toEqualTypeOf<Topic<Buffer>>();
  // 'string': string, with other options beside it too
  expectTypeOf(log.topic('s', { codec: 'string' })).toEqualTypeOf<Topic<string>>();
  expectTypeOf(log.topic('s', { codec: 'string', cleanup: 'compact', segmentBytes: 1 << 20 })).toEqualTypeOf<Topic<string>>();
  // 'json' and 'msgpack': unknown, narrowed by a type argument
  expectTypeOf(log.topic('j', { codec: 'json' })).toEqualTypeOf<Topic<unknown>>();
  expectTypeOf(log.topic('m', { codec: 'msgpack', retention: { maxAgeMs: 1000 } })).toEqualTypeOf<Topic<unknown>>();
  expectTypeOf(log.topic<Order>('o', { codec: 'json' })).toEqualTypeOf<Topic<Order>>();
  expectTypeOf(log.topic<Order>('o', { codec: 'msgpack' })).toEqualTypeOf<Topic<Order>>();
  expectTypeOf(log.topic<number>('n', { codec: 'json' })).toEqualTypeOf<Topic<number>>();
  // a Codec<V>: V, inferred or given
  expectTypeOf(log.topic('p', { codec: pointCodec })).toEqualTypeOf<Topic<Point>>();
  expectTypeOf(log.topic<Point>('p', { codec: pointCodec })).toEqualTypeOf<Topic<Point>>();
  // a type argument the codec can produce
  expectTypeOf(log.topic<string>('s', { codec: 'string' })).toEqualTypeOf<Topic<string>>();
  expectTypeOf(log.topic<Buffer>('b', { codec: 'binary' })).toEqualTypeOf<Topic<Buffer>>();
  expectTypeOf(log.topic<Uint8Array>('b', { codec: 'binary' })).toEqualTypeOf<Topic<Uint8Array>>();
  expectTypeOf(log.topic<unknown>('x', { codec: someCodecName })).toEqualTypeOf<Topic<unknown>>();
  // no codec given: the type argument is the caller's word for what the stored codec holds
  expectTypeOf(log.topic<Order>('o')).toEqualTypeOf<Topic<Order>>();

  // @ts-expect-error a string codec does not produce numbers
  log.topic<number>('n', { codec: 'string' });
  // @ts-expect-error nor does binary
  log.topic<number>('n', { codec: 'binary' });
  // @ts-expect-error binary reads back Buffers, not strings
  log.topic<string>('s', { codec: 'binary' });
  // @ts-expect-error a string codec does not produce Buffers
  log.topic<Buffer>('b', { codec: 'string' });
  // @ts-expect-error a Codec<Date> does not produce Points
  log.topic<Point>('p', { codec: dateCodec });
  // @ts-expect-error a codec name that might be 'string' or 'binary' needs a type argument that fits both (unknown)
  log.topic('x', { codec: someCodecName });
}

export async function valuesFollowTheTopicsType(log: Log): Promise<void> {
  const s = log.topic('s', { codec: 'string' });
  await s.append('text', { key: 'k' });
  s.appendSync('text');
  await s.appendBatch([{ value: 'a' }, { value: 'b', key: 'k', headers: { h: 'v' } }]);
  await s.append(null, { key: 'k' }); // a tombstone, in every codec
  // @ts-expect-error a Buffer into a string topic
  await s.append(Buffer.from('x'));
  // @ts-expect-error a number into a string topic
  s.appendSync(1);
  // @ts-expect-error appendBatch values are checked too
  await s.appendBatch([{ value: 1 }]);
  expectTypeOf(s.get(0)).toEqualTypeOf<LogRecord<string> | undefined>();
  expectTypeOf(s.get(0)!.value).toEqualTypeOf<string | null>();
  for (const r of s.read({ from: 0 })) expectTypeOf(r.value).toEqualTypeOf<string | null>();
  expectTypeOf(s.subscribe()).toEqualTypeOf<Subscription<string>>();
  for await (const r of s.subscribe({ from: 'earliest' })) expectTypeOf(r.value).toEqualTypeOf<string | null>();
  expectTypeOf(s.latest('k')).toEqualTypeOf<LogRecord<string> | undefined>();

  const b = log.topic('b');
  await b.append(Buffer.from('x'));
  // @ts-expect-error a string into a binary topic
  await b.append('x');
  expectTypeOf(b.get(0)!.value).toEqualTypeOf<Buffer | null>();

  const orders = log.topic<Order>('orders', { codec: 'json' });
  await orders.append({ id: 1, total: 30 });
  // @ts-expect-error not an Order
  await orders.append({ id: 'one' });
  expectTypeOf(orders.get(0)!.value).toEqualTypeOf<Order | null>();

  const j = log.topic('j', { codec: 'json' });
  await j.append({ anything: [1, 'two'] });
  expectTypeOf(j.get(0)!.value).toEqualTypeOf<unknown>();

  const p = log.topic('p', { codec: pointCodec });
  await p.append({ x: 1, y: 2 });
  // @ts-expect-error not a Point
  await p.append({ x: 1 });
  expectTypeOf(p.get(0)!.value).toEqualTypeOf<Point | null>();
}
