// Types for the two codec libraries that ship none (used by decompress.ts and the tests).
declare module 'snappyjs' {
  /** Raw snappy; throws when the declared length is over `maxLength` or the stream is bad. */
  export function uncompress<T extends Uint8Array>(compressed: T, maxLength?: number): T;
  export function compress<T extends Uint8Array>(uncompressed: T): T;
}
declare module 'lz4js' {
  /** An LZ4 frame. */
  export function compress(src: Uint8Array, maxSize?: number): Uint8Array;
  export function decompress(src: Uint8Array, maxSize?: number): Uint8Array;
}
