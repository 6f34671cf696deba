// The schema language: a Kafka message written once as data, in the shape of Kafka's own message
// definitions (clients/src/main/resources/common/message/*.json in apache/kafka), field names
// lower-camel-cased. One generic decoder (decode.ts) and encoder (encode.ts) interpret it for any
// version; nothing is hand-written per version.
//
// A field has a `type`: a primitive (below), `[]<primitive>`, `[]<StructName>` or `<StructName>`
// (the struct's `fields` given inline); `versions` it exists in ('0+', '3-5', '7', 'none');
// `nullableVersions` in which it may be null; a `default` for versions without it (and for tagged
// fields left out). Flexible versions (KIP-482, the message's `flexibleVersions`) write strings,
// bytes, records and arrays in compact form (unsigned varint length + 1, 0 for null) and end every
// struct with a tagged-field section; a field with `tag` and `taggedVersions` lives in that section
// in those versions, written only when it is not its default. A field's own `flexibleVersions`
// overrides the message's for that field (the request header's client id is never compact).
import { KafkaProtocolError } from './errors.js';

export type PrimitiveType =
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'bool'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

export interface FieldSchema {
  readonly name: string;
  readonly type: string;
  readonly versions: string;
  readonly nullableVersions?: string;
  /** As in Kafka's JSON: a number, a boolean, 'null', or a string ('-1' for an int64 is fine). */
  readonly default?: number | string | boolean | null;
  readonly tag?: number;
  readonly taggedVersions?: string;
  readonly flexibleVersions?: string;
  readonly fields?: readonly FieldSchema[];
}

export interface MessageSchema {
  readonly name: string;
  readonly apiKey?: number;
  readonly type: 'request' | 'response' | 'header';
  readonly validVersions: string;
  readonly flexibleVersions: string;
  readonly fields: readonly FieldSchema[];
}

const PRIMITIVES: ReadonlySet<string> = new Set<PrimitiveType>([
  'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'float64', 'bool', 'string', 'bytes', 'records', 'uuid',
]);

export function isPrimitive(type: string): type is PrimitiveType {
  return PRIMITIVES.has(type);
}

/** An inclusive range of versions; `max` is Infinity for 'N+', and min > max for 'none'. */
export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

const rangeCache = new Map<string, VersionRange>();

export function parseVersions(text: string): VersionRange {
  let range = rangeCache.get(text);
  if (range !== undefined) return range;
  let m: RegExpMatchArray | null;
  if (text === 'none') range = { min: 1, max: 0 };
  else if ((m = /^(\d+)\+$/.exec(text)) !== null) range = { min: Number(m[1]), max: Infinity };
  else if ((m = /^(\d+)-(\d+)$/.exec(text)) !== null) range = { min: Number(m[1]), max: Number(m[2]) };
  else if (/^\d+$/.test(text)) range = { min: Number(text), max: Number(text) };
  else throw new Error(`schema: bad version range ${JSON.stringify(text)}`);
  rangeCache.set(text, range);
  return range;
}

export function inVersions(text: string | undefined, version: number): boolean {
  if (text === undefined) return false;
  const { min, max } = parseVersions(text);
  return version >= min && version <= max;
}

/** What a field is in one version of its message, worked out once when the codec is compiled. */
export interface FieldInVersion {
  readonly present: boolean;
  readonly nullable: boolean;
  readonly tagged: boolean;
  /** Compact strings, bytes and arrays. */
  readonly compact: boolean;
}

export function fieldInVersion(field: FieldSchema, version: number, flexible: boolean): FieldInVersion {
  const present = inVersions(field.versions, version);
  const compact = field.flexibleVersions === undefined ? flexible : inVersions(field.flexibleVersions, version);
  return {
    present,
    nullable: present && inVersions(field.nullableVersions, version),
    tagged: present && flexible && field.tag !== undefined && inVersions(field.taggedVersions, version),
    compact,
  };
}

/** The element type of `[]T`, or undefined for a non-array type. */
export function elementType(type: string): string | undefined {
  return type.startsWith('[]') ? type.slice(2) : undefined;
}

const ZERO_UUID = 'AAAAAAAAAAAAAAAAAAAAAA';
const EMPTY = Buffer.alloc(0);

/**
 * The value a field takes where it is absent: its `default`, else null for a string or bytes field
 * nullable in some version, else the type's zero (0, 0n, false, '', an empty Buffer, [], a struct of defaults).
 * Returned as a factory so arrays and structs are fresh each time.
 */
export function defaultFactory(field: FieldSchema): () => unknown {
  const d = field.default;
  if (d === null || d === 'null') return () => null;
  if (elementType(field.type) !== undefined) return () => [];
  const nullableSomewhere = field.nullableVersions !== undefined && field.nullableVersions !== 'none';
  if (d === undefined && nullableSomewhere && (field.type === 'string' || field.type === 'bytes' || field.type === 'records')) {
    return () => null;
  }
  if (!isPrimitive(field.type)) {
    const parts = (field.fields ?? []).map((f) => [f.name, defaultFactory(f)] as const);
    return () => {
      const o: Record<string, unknown> = {};
      for (const [name, make] of parts) o[name] = make();
      return o;
    };
  }
  const value = primitiveDefault(field.type, d, field.name);
  return () => value;
}

function primitiveDefault(type: PrimitiveType, d: number | string | boolean | undefined, name: string): unknown {
  switch (type) {
    case 'int64':
      return d === undefined ? 0n : BigInt(d as number | string);
    case 'int8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'float64':
      return d === undefined ? 0 : Number(d);
    case 'bool':
      return d === true || d === 'true';
    case 'string':
      return d === undefined ? '' : String(d);
    case 'uuid':
      return ZERO_UUID;
    case 'bytes':
      return EMPTY;
    case 'records':
      return null;
  }
  throw new Error(`schema: field ${name} has an unknown type ${String(type)}`);
}

/** Throws when a message's tables break the rules the codecs rely on (run once per message). */
export function checkSchema(message: MessageSchema): void {
  const walk = (fields: readonly FieldSchema[], where: string): void => {
    const tags = new Set<number>();
    for (const f of fields) {
      parseVersions(f.versions);
      if (f.nullableVersions !== undefined) parseVersions(f.nullableVersions);
      if (f.tag !== undefined) {
        if (f.taggedVersions === undefined) throw new Error(`schema: ${where}.${f.name} has a tag but no taggedVersions`);
        if (tags.has(f.tag)) throw new Error(`schema: ${where} uses tag ${f.tag} twice`);
        tags.add(f.tag);
      }
      const base = elementType(f.type) ?? f.type;
      if (isPrimitive(base)) {
        if (f.fields !== undefined) throw new Error(`schema: ${where}.${f.name} is ${f.type} but has fields`);
      } else {
        if (f.fields === undefined) throw new Error(`schema: ${where}.${f.name} has type ${f.type} without fields`);
        walk(f.fields, `${where}.${f.name}`);
      }
    }
  };
  parseVersions(message.validVersions);
  parseVersions(message.flexibleVersions);
  walk(message.fields, message.name);
}

export function unknownVersion(message: MessageSchema, version: number): never {
  throw new KafkaProtocolError(`${message.name} version ${version} is not defined (defined: ${message.validVersions})`);
}

/**
 * The compiled codec (decoder or encoder) of one version of `message` from `cache`, built by
 * `build(flexible)` on first use: the message's schema is checked once, a version it does not
 * define is refused.
 */
export function compiledFor<T>(cache: WeakMap<MessageSchema, Map<number, T>>, message: MessageSchema, version: number, build: (flexible: boolean) => T): T {
  let versions = cache.get(message);
  if (versions === undefined) {
    checkSchema(message);
    versions = new Map();
    cache.set(message, versions);
  }
  let codec = versions.get(version);
  if (codec === undefined) {
    if (!inVersions(message.validVersions, version)) unknownVersion(message, version);
    codec = build(inVersions(message.flexibleVersions, version));
    versions.set(version, codec);
  }
  return codec;
}
