// Test helpers for the protocol layer: fast-check arbitraries of any message version built from
// its tables (every field of the message, those the version lacks at their default, so a round
// trip must give back exactly what was generated), and the values of a decoded message in wire
// order (to compare with a third-party decoder whose field names differ).
import fc from 'fast-check';
import { concatChunks, type FieldSchema, type MessageSchema } from '../../src/kafka/protocol/index.js';
import { defaultFactory, elementType, fieldInVersion, inVersions, isPrimitive, type PrimitiveType } from '../../src/kafka/protocol/schema.js';

export interface ValueOptions {
  /** Longest generated array. */
  maxArray?: number;
  /** Generate only `null` for records fields (a decoder that parses records cannot take random bytes). */
  nullRecords?: boolean;
}

function primitive(type: PrimitiveType, nullable: boolean, opts: ValueOptions): fc.Arbitrary<unknown> {
  let a: fc.Arbitrary<unknown>;
  switch (type) {
    case 'int8': a = fc.integer({ min: -128, max: 127 }); break;
    case 'int16': a = fc.integer({ min: -32768, max: 32767 }); break;
    case 'uint16': a = fc.integer({ min: 0, max: 65535 }); break;
    case 'int32': a = fc.integer({ min: -2147483648, max: 2147483647 }); break;
    case 'uint32': a = fc.integer({ min: 0, max: 4294967295 }); break;
    case 'int64': a = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }); break;
    case 'float64': a = fc.double({ noNaN: true }).filter((d) => !Object.is(d, -0)); break;
    case 'bool': a = fc.boolean(); break;
    case 'string': a = fc.string({ maxLength: 12, unit: 'grapheme' }); break;
    case 'uuid': a = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => Buffer.from(b).toString('base64url')); break;
    case 'bytes': a = fc.uint8Array({ maxLength: 24 }).map((b) => Buffer.from(b)); break;
    case 'records': a = opts.nullRecords ? fc.constant(null) : fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)); break;
  }
  return nullable ? fc.option(a, { nil: null, freq: 4 }) : a;
}

function fieldArb(field: FieldSchema, version: number, flexible: boolean, opts: ValueOptions): fc.Arbitrary<unknown> {
  const info = fieldInVersion(field, version, flexible);
  if (!info.present) return fc.constant(null).map(() => defaultFactory(field)());
  const element = elementType(field.type);
  let a: fc.Arbitrary<unknown>;
  if (element === undefined) {
    a = isPrimitive(field.type) ? primitive(field.type, false, opts) : structArb(field.fields!, version, flexible, opts);
  } else {
    const e = isPrimitive(element) ? primitive(element, false, opts) : structArb(field.fields!, version, flexible, opts);
    a = fc.array(e, { maxLength: opts.maxArray ?? 3 });
  }
  return info.nullable ? fc.option(a, { nil: null, freq: 4 }) : a;
}

export function structArb(fields: readonly FieldSchema[], version: number, flexible: boolean, opts: ValueOptions = {}): fc.Arbitrary<Record<string, unknown>> {
  const record: Record<string, fc.Arbitrary<unknown>> = {};
  for (const f of fields) record[f.name] = fieldArb(f, version, flexible, opts);
  return fc.record(record) as fc.Arbitrary<Record<string, unknown>>;
}

export function messageArb(message: MessageSchema, version: number, opts: ValueOptions = {}): fc.Arbitrary<Record<string, unknown>> {
  return structArb(message.fields, version, inVersions(message.flexibleVersions, version), opts);
}

/** Every version a message defines. */
export function versionsOf(message: MessageSchema): number[] {
  const m = /^(\d+)-(\d+)$/.exec(message.validVersions) ?? /^(\d+)$/.exec(message.validVersions);
  if (m === null) throw new Error(`bounded validVersions expected: ${message.validVersions}`);
  const out: number[] = [];
  for (let v = Number(m[1]); v <= Number(m[2] ?? m[1]); v++) out.push(v);
  return out;
}

/** The values of `value` in wire order (non-tagged fields present in the version), as strings; a null array is no values, as an empty one. */
export function wireValues(message: MessageSchema, version: number, value: Record<string, unknown>, skipRecords = false): string[] {
  const flexible = inVersions(message.flexibleVersions, version);
  const out: string[] = [];
  const leaf = (v: unknown): void => {
    out.push(v === null ? 'null' : Buffer.isBuffer(v) ? `bytes:${v.toString('hex')}` : String(v));
  };
  const walk = (fields: readonly FieldSchema[], o: Record<string, unknown>): void => {
    for (const f of fields) {
      const info = fieldInVersion(f, version, flexible);
      if (!info.present || info.tagged || (skipRecords && f.type === 'records')) continue;
      const v = o[f.name];
      const element = elementType(f.type);
      if (element === undefined) {
        if (isPrimitive(f.type)) leaf(v);
        else walk(f.fields!, v as Record<string, unknown>);
      } else if (v !== null) {
        for (const e of v as unknown[]) {
          if (isPrimitive(element)) leaf(e);
          else walk(f.fields!, e as Record<string, unknown>);
        }
      }
    }
  };
  walk(message.fields, value);
  return out;
}

/** The values of a plain decoded object (a third-party decoder's output) in key order, as strings. */
export function plainValues(value: unknown, skip: ReadonlySet<string> = new Set()): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (v === null || v === undefined) out.push('null');
    else if (Buffer.isBuffer(v)) out.push(`bytes:${v.toString('hex')}`);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) if (!skip.has(k)) walk(x);
    } else out.push(String(v));
  };
  walk(value);
  return out;
}

export function frameOf(chunks: readonly Buffer[]): Buffer {
  const all = concatChunks(chunks);
  if (all.readInt32BE(0) !== all.length - 4) throw new Error(`frame size ${all.readInt32BE(0)} but ${all.length - 4} bytes follow`);
  return all.subarray(4);
}
