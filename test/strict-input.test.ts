// Strict input: an unknown key in append meta, in a record of appendBatch, in read() or
// subscribe() options is ERR_INVALID_ARGUMENT naming the key (as openLog and topic() options
// are), and nothing of the refused call is written. Headers are a plain object or a Map with string
// keys (a Map is taken as its entries); any other object is refused instead of being dropped.
// Both entry points; what was written before a refusal is still there after a reopen.
import { describe, expect, test } from 'vitest';
import { entries } from './entry.js';
import { collect, expectSeglogError, expectSeglogErrorSync, harness, type Topic } from './helpers.js';

const headersOf = (t: Topic<unknown>, offset: number): Record<string, string> =>
  Object.fromEntries(Object.entries(t.get(offset)!.headers).map(([k, v]) => [k, v.toString('hex')]));

describe.each(entries)('strict input ($name)', (entry) => {
  const h = harness(entry);

  test('an unknown key in append meta is refused by append, appendSync and appendBatch records, naming it; nothing is appended', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t', { codec: 'string' });
    await t.append('kept', { key: 'k' });
    const e1 = await expectSeglogError(h.mod, () => t.append('x', { kye: 'k' } as never), 'ERR_INVALID_ARGUMENT', ['"kye"', 'append meta', 'key, headers, timestamp']);
    expect((e1 as unknown as { value: unknown }).value).toBe('kye');
    expectSeglogErrorSync(h.mod, () => t.appendSync('x', { key: 'k', timeStamp: 5 } as never), 'ERR_INVALID_ARGUMENT', ['"timeStamp"']);
    // a record of a batch: the whole batch is refused, also when the bad record is not the first
    await expectSeglogError(h.mod, () => t.appendBatch([{ value: 'a' }, { value: 'b', header: { x: '1' } } as never]), 'ERR_INVALID_ARGUMENT', ['records[1]', '"header"', 'value, key, headers, timestamp']);
    await expectSeglogError(h.mod, () => t.appendBatch([{ vale: 'a' } as never]), 'ERR_INVALID_ARGUMENT', ['records[0]', '"vale"']);
    expect(t.endOffset).toBe(1);
    // the known keys still work, undefined ones included
    await t.append('y', { key: undefined, headers: undefined, timestamp: undefined });
    await t.appendBatch([{ value: 'z', key: 'k', headers: { a: 'b' }, timestamp: 7 }]);
    await log.close();
    const again = await h.open(dir);
    expect(collect(again.topic('t', { codec: 'string' }).read()).map((r) => r.value)).toEqual(['kept', 'y', 'z']);
  });

  test('exactly-once appendBatch refuses an unknown record key too, committing nothing', async () => {
    const log = await h.open(h.tmp());
    const input = log.topic('in', { codec: 'string' });
    const out = log.topic('out', { codec: 'string' });
    await input.append('job');
    const sub = input.subscribe({ group: 'g', autoCommit: false });
    const it = sub[Symbol.asyncIterator]();
    await it.next();
    await expectSeglogError(h.mod, () => out.appendBatch([{ value: 'r', kee: 'x' } as never], { commit: sub }), 'ERR_INVALID_ARGUMENT', ['"kee"']);
    expect(out.endOffset).toBe(0);
    expect(input.groups()).toEqual([expect.objectContaining({ group: 'g', position: 0 })]);
    await sub.close();
  });

  test('an unknown read() option is refused naming it; the known ones are taken', async () => {
    const log = await h.open(h.tmp());
    const t = log.topic('t', { codec: 'string' });
    await t.appendBatch([{ value: 'a' }, { value: 'b' }, { value: 'c' }]);
    expectSeglogErrorSync(h.mod, () => t.read({ form: 1 } as never), 'ERR_INVALID_ARGUMENT', ['read option', '"form"', 'from']);
    expectSeglogErrorSync(h.mod, () => t.read({ from: 0, limit: 1 } as never), 'ERR_INVALID_ARGUMENT', ['"limit"', 'maxRecords']);
    expect(collect(t.read({ from: 1, maxRecords: 1, maxBytes: 1 << 20 })).map((r) => r.value)).toEqual(['b']);
    expect(collect(t.read({ from: undefined })).map((r) => r.value)).toEqual(['a', 'b', 'c']);
  });

  test('an unknown subscribe() option is refused naming it, and no group member is made', async () => {
    const log = await h.open(h.tmp());
    const t = log.topic('t', { codec: 'string' });
    expectSeglogErrorSync(h.mod, () => t.subscribe({ gruop: 'g' } as never), 'ERR_INVALID_ARGUMENT', ['subscribe option', '"gruop"', 'group']);
    expectSeglogErrorSync(h.mod, () => t.subscribe({ group: 'g', autocommit: false } as never), 'ERR_INVALID_ARGUMENT', ['"autocommit"', 'autoCommit']);
    expect(t.groups()).toEqual([]);
  });

  test('headers given as a Map are stored as its entries (append, appendSync, appendBatch), and survive a reopen', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t', { codec: 'string' });
    await t.append('a', { headers: new Map<string, string | Uint8Array>([['source', 'web'], ['bin', Uint8Array.of(1, 2)]]) });
    t.appendSync('b', { headers: new Map([['one', 'x']]) });
    await t.appendBatch([{ value: 'c', headers: new Map() }, { value: 'd', headers: new Map([['n', 'é']]) }, { value: 'e', headers: { plain: 'yes' } }]);
    const expected = [
      { source: Buffer.from('web').toString('hex'), bin: '0102' },
      { one: Buffer.from('x').toString('hex') },
      {},
      { n: Buffer.from('é').toString('hex') },
      { plain: Buffer.from('yes').toString('hex') },
    ];
    expect([0, 1, 2, 3, 4].map((o) => headersOf(t, o))).toEqual(expected);
    await log.close();
    const again = await h.open(dir);
    const t2 = again.topic('t', { codec: 'string' });
    expect([0, 1, 2, 3, 4].map((o) => headersOf(t2, o))).toEqual(expected);
    expect(collect(t2.read()).map((r) => r.value)).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  test('a Map header counts toward maxRecordBytes like an object header', async () => {
    const log = await h.open(h.tmp());
    const t = log.topic('t', { codec: 'string', maxRecordBytes: 100 });
    await expectSeglogError(h.mod, () => t.append('v', { headers: new Map([['big', 'x'.repeat(200)]]) }), 'ERR_RECORD_TOO_LARGE');
    await expectSeglogError(h.mod, () => t.appendBatch([{ value: 'v', headers: new Map([['big', 'x'.repeat(200)]]) }]), 'ERR_RECORD_TOO_LARGE');
    expect(t.endOffset).toBe(0);
  });

  test('headers that are neither a plain object nor a Map of strings are refused clearly, and nothing is appended', async () => {
    const dir = h.tmp();
    const log = await h.open(dir);
    const t = log.topic('t', { codec: 'string' });
    await t.append('kept', { headers: { a: '1' } });
    class Custom { a = '1'; }
    const bad: Array<[unknown, Array<string | number>]> = [
      [new Map<unknown, string>([[1, 'x']]), ['header name', '1']],
      [new Map<string, unknown>([['n', 5]]), ['header "n"', '5']],
      [new Set(['a']), ['headers', 'Map']],
      [new Custom(), ['headers', 'plain object']],
      [new URLSearchParams('a=1'), ['headers']],
      [['a', '1'], ['headers']],
      [Buffer.from('a'), ['headers']],
      ['a=1', ['headers']],
      [null, ['headers']],
    ];
    for (const [headers, mentions] of bad) {
      await expectSeglogError(h.mod, () => t.append('x', { headers } as never), 'ERR_INVALID_ARGUMENT', mentions);
      expectSeglogErrorSync(h.mod, () => t.appendSync('x', { headers } as never), 'ERR_INVALID_ARGUMENT', mentions);
      await expectSeglogError(h.mod, () => t.appendBatch([{ value: 'ok' }, { value: 'x', headers } as never]), 'ERR_INVALID_ARGUMENT', mentions);
    }
    // an object without a prototype is a plain object
    const bare = Object.create(null) as Record<string, string>;
    bare.b = '2';
    await t.append('bare', { headers: bare });
    expect(t.endOffset).toBe(2);
    await log.close();
    const again = await h.open(dir);
    const t2 = again.topic('t', { codec: 'string' });
    expect(collect(t2.read()).map((r) => r.value)).toEqual(['kept', 'bare']);
    expect(headersOf(t2, 1)).toEqual({ b: Buffer.from('2').toString('hex') });
  });
});
