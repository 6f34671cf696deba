// SeglogError: the one error type the library throws on purpose. Every error carries a stable
// `code` (below) and, where there is one, the offending value, file or position in its message
// and as properties. Programmer errors inside the library are assertions (plain Error).
import os from 'node:os';

export type SeglogErrorCode =
  | 'ERR_LOCKED'
  | 'ERR_CLOSED'
  | 'ERR_IO'
  | 'ERR_RECORD_TOO_LARGE'
  | 'ERR_OFFSET_OUT_OF_RANGE'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_CORRUPT'
  | 'ERR_READ_ONLY'
  | 'ERR_NO_SPACE'
  | 'ERR_NOT_SUPPORTED'
  | 'ERR_ABORTED';

export interface SeglogErrorDetails {
  file?: string;
  position?: number;
  value?: unknown;
  cause?: unknown;
}

/** Marks SeglogErrors of every copy of seglog in the process (the ES module and CommonJS builds). */
const BRAND = Symbol.for('seglog.SeglogError');

/** The one error type seglog throws on purpose, with a stable `code` and the offending file, position or value. */
export class SeglogError extends Error {
  /**
   * `err instanceof SeglogError` holds for a SeglogError of the other build too (an application
   * that `require`s seglog beside a dependency that `import`s it loads two copies of this class).
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (this !== SeglogError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }

  readonly code: SeglogErrorCode;
  readonly file?: string;
  readonly position?: number;
  readonly value?: unknown;

  constructor(code: SeglogErrorCode, message: string, details: SeglogErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SeglogError';
    Object.defineProperty(this, BRAND, { value: true });
    this.code = code;
    if (details.file !== undefined) this.file = details.file;
    if (details.position !== undefined) this.position = details.position;
    if ('value' in details) this.value = details.value;
  }
}

/** Renders a value for an error message without throwing and without flooding it. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? value.slice(0, 80) + '…' : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return String(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return `<${value.constructor.name} ${value.length} bytes>`;
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? 'Invalid' : value.toISOString()})`;
  if (Array.isArray(value)) return `<array of ${value.length}>`;
  if (typeof value === 'function') return '<function>';
  return `<${Object.prototype.toString.call(value).slice(8, -1)}>`;
}

export function invalidArgument(what: string, value: unknown, expected: string): SeglogError {
  return new SeglogError('ERR_INVALID_ARGUMENT', `invalid ${what}: ${describe(value)} (expected ${expected})`, { value });
}

/**
 * Throws ERR_INVALID_ARGUMENT naming the first own enumerable key of `options` that is not in
 * `known`: an option the library does not know (a typo, an option of another call) is refused,
 * never ignored. (for…in, not Object.keys: it runs per append and allocates nothing.)
 */
export function refuseUnknownKeys(what: string, options: object, known: ReadonlySet<string>): void {
  for (const k in options) {
    if (!known.has(k) && Object.prototype.hasOwnProperty.call(options, k)) throw invalidArgument(what, k, `one of ${[...known].join(', ')}`);
  }
}

/** Maps a failed system call to a SeglogError (ENOSPC → ERR_NO_SPACE, anything else → ERR_IO). */
export function ioError(op: string, file: string, cause: unknown): SeglogError {
  if (cause instanceof SeglogError) return cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const text = cause instanceof Error ? cause.message : String(cause);
  // (LMDB reports the errno as a number: 28 is ENOSPC on Linux and macOS)
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === os.constants.errno.ENOSPC || code === os.constants.errno.EDQUOT) {
    return new SeglogError('ERR_NO_SPACE', `no space left on device during ${op} of ${file}: ${text}`, { file, cause });
  }
  if (code === 'ERR_ACCESS_DENIED') {
    // Node's permission model (--experimental-permission); Node 20 refuses every fsync under it.
    return new SeglogError('ERR_IO', `${op} failed on ${file}: ${text} (the process runs under Node's permission model: a writable log needs read and write access to its directory and fsync, which Node 20 refuses under that model; open it with readOnly: true there)`, { file, cause });
  }
  return new SeglogError('ERR_IO', `${op} failed on ${file}: ${text}`, { file, cause });
}

/**
 * What an open or verify lets out: a system call's error (it carries an errno code such as EACCES,
 * EPERM, EROFS, ENOTDIR, EISDIR, EMFILE) becomes ERR_IO (ERR_NO_SPACE for ENOSPC) naming its path
 * and keeping the code in the message and as `cause`; a SeglogError or a programmer error is
 * returned unchanged.
 */
export function asSeglogError(err: unknown, op: string, file: string): unknown {
  if (err instanceof SeglogError || !(err instanceof Error)) return err;
  const e = err as NodeJS.ErrnoException;
  if (typeof e.code !== 'string' || !(/^E[A-Z0-9]+$/.test(e.code) || e.code === 'ERR_ACCESS_DENIED')) return err;
  return ioError(op, e.path ?? file, err);
}
