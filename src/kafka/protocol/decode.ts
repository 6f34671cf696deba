// The one generic decoder: a message's tables (schema.ts) compiled, once per (message, version),
// into a tree of closures that read that version and nothing else. Flags (present? nullable?
// compact? tagged?) are looked at while compiling, never while decoding: a compiled struct reader
// is a flat list of steps, each a direct Reader call. A decoded struct always has every field of
// the message, in declaration order (one object shape per struct and version): fields the version
// lacks and tagged fields not sent hold their default.
import type { Reader } from './reader.js';
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

export type Decoded = Record<string, unknown>;
type Read = (r: Reader) => unknown;
type ReadStruct = (r: Reader) => Decoded;

const cache = new WeakMap<MessageSchema, Map<number, ReadStruct>>();

/** The decoder of one version of a message, compiled on first use and cached. */
export function messageDecoder(message: MessageSchema, version: number): ReadStruct {
  return compiledFor(cache, message, version, (flexible) => structReader(message.fields, version, flexible, message.name));
}

/** Decodes one struct body from `r` (the caller checks for trailing bytes). */
export function decodeMessage(message: MessageSchema, version: number, r: Reader): Decoded {
  return messageDecoder(message, version)(r);
}

function primitiveReader(type: PrimitiveType, nullable: boolean, compact: boolean): Read {
  switch (type) {
    case 'int8':
      return (r) => r.int8();
    case 'int16':
      return (r) => r.int16();
    case 'uint16':
      return (r) => r.uint16();
    case 'int32':
      return (r) => r.int32();
    case 'uint32':
      return (r) => r.uint32();
    case 'int64':
      return (r) => r.int64();
    case 'float64':
      return (r) => r.float64();
    case 'bool':
      return (r) => r.bool();
    case 'uuid':
      return (r) => r.uuid();
    case 'string':
      if (compact) return nullable ? (r) => r.nullableCompactString() : (r) => r.compactString();
      return nullable ? (r) => r.nullableString() : (r) => r.string();
    case 'bytes':
    case 'records':
      if (compact) return nullable ? (r) => r.nullableCompactBytes() : (r) => r.compactBytes();
      return nullable ? (r) => r.nullableBytes() : (r) => r.bytes();
  }
}

function fieldReader(field: FieldSchema, version: number, flexible: boolean, where: string): Read {
  const { nullable, compact } = fieldInVersion(field, version, flexible);
  const element = elementType(field.type);
  if (element === undefined) {
    if (isPrimitive(field.type)) return primitiveReader(field.type, nullable, compact);
    const struct = structReader(field.fields!, version, flexible, `${where}.${field.name}`);
    if (!nullable) return struct;
    // A nullable struct is preceded by an int8: -1 for null, 1 for present (Kafka's generator).
    return (r) => (r.int8() < 0 ? null : struct(r));
  }
  const readElement: Read = isPrimitive(element)
    ? primitiveReader(element, false, compact)
    : structReader(field.fields!, version, flexible, `${where}.${field.name}`);
  const name = field.name;
  return (r) => {
    const n = r.arrayLength(compact);
    if (n < 0) return nullable ? null : r.fail(`${where}.${name}: null array in a non-nullable field`);
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = readElement(r);
    return out;
  };
}

const noTags = (): boolean => false;

function structReader(fields: readonly FieldSchema[], version: number, flexible: boolean, where: string): ReadStruct {
  const names: string[] = [];
  const steps: Read[] = [];
  const tagged = new Map<number, { name: string; read: Read }>();
  for (const field of fields) {
    const info = fieldInVersion(field, version, flexible);
    names.push(field.name);
    if (!info.present || info.tagged) {
      const make = defaultFactory(field);
      steps.push(() => make());
      if (info.tagged) tagged.set(field.tag!, { name: field.name, read: fieldReader(field, version, flexible, where) });
    } else {
      steps.push(fieldReader(field, version, flexible, where));
    }
  }
  const n = names.length;
  if (!flexible) {
    return (r) => {
      const o: Decoded = {};
      for (let i = 0; i < n; i++) o[names[i]!] = steps[i]!(r);
      return o;
    };
  }
  if (tagged.size === 0) {
    return (r) => {
      const o: Decoded = {};
      for (let i = 0; i < n; i++) o[names[i]!] = steps[i]!(r);
      r.taggedFields(noTags);
      return o;
    };
  }
  return (r) => {
    const o: Decoded = {};
    for (let i = 0; i < n; i++) o[names[i]!] = steps[i]!(r);
    r.taggedFields((tag, tr) => {
      const t = tagged.get(tag);
      if (t === undefined) return false;
      o[t.name] = t.read(tr);
      return true;
    });
    return o;
  };
}
