// Codecs turn application values into record bytes and back. `binary` is the identity on
// Buffer/Uint8Array; `string` is UTF-8; `json` is JSON.stringify as UTF-8; `msgpack` uses msgpackr
// (its optional native accelerator is never required). A user codec is any object with
// encode/decode. `null` is never handed to a codec: it is the tombstone in every codec.
// '#msgpackr-pure' (package.json "imports") is msgpackr's pure-JS build: 'msgpackr/pack' for the ES
// modules, 'msgpackr/index-no-eval' for the CommonJS build (dist/cjs/package.json, written by
// scripts/cjs-package.mjs: msgpackr's require() build of 'msgpackr/pack' would load
// msgpackr-extract). Neither loads a native addon, so the same codec serves the native-free entry.
import { Packr } from '#msgpackr-pure';
import { SeglogError, describe, invalidArgument } from '../base/errors.js';

export interface Codec<V> {
  encode(value: V): Uint8Array;
  decode(bytes: Buffer): V;
}

export type CodecName = 'binary' | 'string' | 'json' | 'msgpack';
export type CodecOption<V> = CodecName | Codec<V>;

/**
 * The value type a named codec reads back: `'binary'` a `Buffer`, `'string'` a `string`, `'json'`
 * and `'msgpack'` `unknown` (narrow it with a type argument: `log.topic<Order>('orders', { codec: 'json' })`).
 */
export type CodecValue<C extends CodecName> = C extends 'binary' ? Buffer : C extends 'string' ? string : unknown;

/**
 * The codec options a topic of values `V` may be given: `'binary'` only when `V` is a Buffer or
 * Uint8Array type, `'string'` only when it is a string type, `'json'` and `'msgpack'` for any `V`
 * (the caller's claim about what the topic holds), a `Codec<V>`; every one when `V` is `unknown`
 * or `any`. So `log.topic<number>('n', { codec: 'string' })` does not type-check.
 */
export type CodecOptionFor<V> = unknown extends V ? CodecOption<V>
  : ([V] extends [Uint8Array] ? 'binary' : never) | ([V] extends [string] ? 'string' : never) | 'json' | 'msgpack' | Codec<V>;

export const binaryCodec: Codec<Buffer> = {
  encode(value: Buffer): Uint8Array {
    if (!(value instanceof Uint8Array)) throw invalidArgument('value for codec "binary"', value, 'a Buffer or Uint8Array');
    return value;
  },
  decode(bytes: Buffer): Buffer {
    return bytes;
  },
};

export const stringCodec: Codec<string> = {
  encode(value: string): Uint8Array {
    if (typeof value !== 'string') throw invalidArgument('value for codec "string"', value, 'a string');
    return Buffer.from(value, 'utf8');
  },
  decode(bytes: Buffer): string {
    return bytes.toString('utf8');
  },
};

export const jsonCodec: Codec<unknown> = {
  encode(value: unknown): Uint8Array {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (err) {
      throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid value for codec "json": ${describe(value)} cannot be serialised (${(err as Error).message})`, { value, cause: err });
    }
    if (text === undefined) throw invalidArgument('value for codec "json"', value, 'a JSON-serialisable value');
    // NaN, ±Infinity or a toJSON() giving null would be stored as JSON null and read back as a
    // null value that is not a tombstone (SPEC: a JSON null value cannot be stored).
    if (text === 'null') throw invalidArgument('value for codec "json"', value, 'a value that does not serialise to null (a tombstone is append(null, { key }))');
    return Buffer.from(text, 'utf8');
  },
  decode(bytes: Buffer): unknown {
    return JSON.parse(bytes.toString('utf8'));
  },
};

const packr = new Packr({ useRecords: false, moreTypes: true });

export const msgpackCodec: Codec<unknown> = {
  encode(value: unknown): Uint8Array {
    // Like JSON: a top-level value msgpack cannot represent is refused, not stored as something else.
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
      throw invalidArgument('value for codec "msgpack"', value, 'a value other than undefined, a function or a symbol');
    }
    try {
      // pack() returns a view of msgpackr's reusable buffer: copy it, the record keeps its bytes.
      return Buffer.from(packr.pack(value));
    } catch (err) {
      throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid value for codec "msgpack": ${describe(value)} (${(err as Error).message})`, { value, cause: err });
    }
  },
  decode(bytes: Buffer): unknown {
    return packr.unpack(bytes);
  },
};

const builtins: Record<CodecName, Codec<any>> = {
  binary: binaryCodec,
  string: stringCodec,
  json: jsonCodec,
  msgpack: msgpackCodec,
};

export function isCodecName(name: unknown): name is CodecName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(builtins, name);
}

export function resolveCodec<V>(option: CodecOption<V>): Codec<V> {
  if (typeof option === 'string') {
    if (!isCodecName(option)) throw invalidArgument('option codec', option, "'binary', 'string', 'json', 'msgpack' or a { encode, decode } object");
    return builtins[option] as Codec<V>;
  }
  if (option === null || typeof option !== 'object' || typeof option.encode !== 'function' || typeof option.decode !== 'function') {
    throw invalidArgument('option codec', option, "'binary', 'string', 'json', 'msgpack' or a { encode, decode } object");
  }
  return option;
}
