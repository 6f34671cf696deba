// The one generic encoder: a message's tables (schema.ts) compiled, once per (message, version),
// into closures that write that version. A field the version lacks is not written whatever the
// object holds; a field left undefined is written as its default. Tagged fields are written, in tag
// order, only when they differ from their default. `records` (and `bytes`) take a Buffer, null or
// an array of Buffers, spliced into the output without a copy. Values of the wrong type are a
// programmer error of the caller: they throw plain Errors naming the field.
import { Writer } from './writer.js';
import {
  compiledFor,
  defaultFactory,
  elementType,
  fieldInVersion,
  isPrimitive,
  type FieldSchema,
  type MessageSchema,
  type PrimitiveType,
} from './schema.js';

type Write = (w: Writer, v: unknown) => void;
type WriteStruct = (w: Writer, o: Record<string, unknown>) => void;

const cache = new WeakMap<MessageSchema, Map<number, WriteStruct>>();

/** The encoder of one version of a message, compiled on first use and cached. */
export function messageEncoder(message: MessageSchema, version: number): WriteStruct {
  return compiledFor(cache, message, version, (flexible) => structWriter(message.fields, version, flexible, message.name));
}

function wrongType(where: string, v: unknown, expected: string): never {
  throw new TypeError(`${where}: expected ${expected}, got ${v === null ? 'null' : typeof v}`);
}

function primitiveWriter(type: PrimitiveType, nullable: boolean, compact: boolean, where: string): Write {
  switch (type) {
    case 'int8':
      return (w, v) => w.int8(v as number);
    case 'int16':
      return (w, v) => w.int16(v as number);
    case 'uint16':
      return (w, v) => w.uint16(v as number);
    case 'int32':
      return (w, v) => w.int32(v as number);
    case 'uint32':
      return (w, v) => w.uint32(v as number);
    case 'int64':
      return (w, v) => (typeof v === 'bigint' || typeof v === 'number' ? w.int64(v) : wrongType(where, v, 'a bigint'));
    case 'float64':
      return (w, v) => w.float64(v as number);
    case 'bool':
      return (w, v) => w.bool(v === true);
    case 'uuid':
      return (w, v) => (typeof v === 'string' ? w.uuid(v) : wrongType(where, v, 'a uuid string'));
    case 'string':
      return (w, v) => {
        if (typeof v !== 'string' && !(v === null && nullable)) wrongType(where, v, nullable ? 'a string or null' : 'a string');
        if (compact) w.nullableCompactString(v);
        else w.nullableString(v);
      };
    case 'bytes':
    case 'records':
      return (w, v) => {
        if (!(Buffer.isBuffer(v) || Array.isArray(v) || (v === null && nullable))) wrongType(where, v, nullable ? 'a Buffer or null' : 'a Buffer');
        if (compact) w.nullableCompactBytes(v as Buffer | Buffer[] | null);
        else w.nullableBytes(v as Buffer | Buffer[] | null);
      };
  }
}

function fieldWriter(field: FieldSchema, version: number, flexible: boolean, where: string): Write {
  const { nullable, compact } = fieldInVersion(field, version, flexible);
  const path = `${where}.${field.name}`;
  const element = elementType(field.type);
  if (element === undefined) {
    if (isPrimitive(field.type)) return primitiveWriter(field.type, nullable, compact, path);
    const struct = structWriter(field.fields!, version, flexible, path);
    return (w, v) => {
      if (v === null) {
        if (!nullable) wrongType(path, v, 'an object');
        return w.int8(-1);
      }
      if (typeof v !== 'object') wrongType(path, v, 'an object');
      if (nullable) w.int8(1);
      struct(w, v as Record<string, unknown>);
    };
  }
  const writeElement: Write = isPrimitive(element)
    ? primitiveWriter(element, false, compact, `${path}[]`)
    : (structWriter(field.fields!, version, flexible, `${path}[]`) as Write);
  return (w, v) => {
    if (v === null) {
      if (!nullable) wrongType(path, v, 'an array');
      return w.arrayLength(null, compact);
    }
    if (!Array.isArray(v)) wrongType(path, v, 'an array');
    w.arrayLength(v.length, compact);
    for (let i = 0; i < v.length; i++) writeElement(w, v[i]);
  };
}

/** Whether `v` is the field's default (a tagged field is then left out). */
function defaultTest(field: FieldSchema): (v: unknown) => boolean {
  const d = defaultFactory(field)();
  if (Array.isArray(d)) return (v) => Array.isArray(v) && v.length === 0;
  if (d !== null && typeof d === 'object' && !Buffer.isBuffer(d)) {
    const tests = (field.fields ?? []).map((f) => [f.name, defaultTest(f)] as const);
    return (v) => v !== null && typeof v === 'object' && tests.every(([name, test]) => (v as Record<string, unknown>)[name] === undefined || test((v as Record<string, unknown>)[name]));
  }
  if (Buffer.isBuffer(d)) return (v) => Buffer.isBuffer(v) && v.length === 0;
  if (typeof d === 'bigint') return (v) => v === d || (typeof v === 'number' && BigInt(v) === d);
  return (v) => v === d;
}

interface TaggedWriter {
  readonly tag: number;
  readonly name: string;
  readonly write: Write;
  readonly isDefault: (v: unknown) => boolean;
}

function structWriter(fields: readonly FieldSchema[], version: number, flexible: boolean, where: string): WriteStruct {
  const names: string[] = [];
  const steps: Write[] = [];
  const defaults: Array<() => unknown> = [];
  const tagged: TaggedWriter[] = [];
  for (const field of fields) {
    const info = fieldInVersion(field, version, flexible);
    if (!info.present) continue;
    const write = fieldWriter(field, version, flexible, where);
    if (info.tagged) {
      tagged.push({ tag: field.tag!, name: field.name, write, isDefault: defaultTest(field) });
    } else {
      names.push(field.name);
      steps.push(write);
      defaults.push(defaultFactory(field));
    }
  }
  tagged.sort((a, b) => a.tag - b.tag);
  const n = names.length;
  const plain: WriteStruct = (w, o) => {
    for (let i = 0; i < n; i++) {
      const v = o[names[i]!];
      steps[i]!(w, v === undefined ? defaults[i]!() : v);
    }
  };
  if (!flexible) return plain;
  if (tagged.length === 0) {
    return (w, o) => {
      plain(w, o);
      w.uvarint(0);
    };
  }
  return (w, o) => {
    plain(w, o);
    let count = 0;
    for (const t of tagged) {
      const v = o[t.name];
      if (v !== undefined && !t.isDefault(v)) count++;
    }
    w.uvarint(count);
    for (const t of tagged) {
      const v = o[t.name];
      if (v === undefined || t.isDefault(v)) continue;
      // The size comes before the value: the value is written apart first (tagged fields are rare
      // and small).
      const inner = new Writer();
      try {
        t.write(inner, v);
      } catch (err) {
        inner.abandon();
        throw err;
      }
      const size = inner.length;
      const chunks = inner.finish();
      w.uvarint(t.tag);
      w.uvarint(size);
      for (const c of chunks) w.raw(c);
    }
  };
}
