// AbortSignal support of the long operations (compact, enforceRetention, verify, backup): checking
// the option, and the check made between two units of work. An aborted operation rejects with
// SeglogError ERR_ABORTED (its `cause` is the signal's reason, e.g. a TimeoutError of
// AbortSignal.timeout()). Where the checks go is each operation's business: only at points where
// stopping leaves everything as it was or as a finished step left it (nothing half done).
// Pure functions, no state.
import { SeglogError, invalidArgument } from './errors.js';

/** `signal` checked: undefined, or an AbortSignal (anything else is ERR_INVALID_ARGUMENT naming `what`). */
export function checkSignal(signal: unknown, what = 'option signal'): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  if (!(signal instanceof AbortSignal)) throw invalidArgument(what, signal, 'an AbortSignal');
  return signal;
}

/**
 * The error an operation aborted by `signal` rejects with: ERR_ABORTED, the signal's reason as
 * cause (and its message, when it is an Error, in the message); `file` when the operation has one.
 */
export function abortedError(signal: AbortSignal, operation: string, file?: string): SeglogError {
  const reason: unknown = signal.reason;
  const why = reason instanceof Error && reason.message !== '' ? `: ${reason.message}` : '';
  return new SeglogError('ERR_ABORTED', `${operation} was aborted${why}`, file === undefined ? { cause: reason } : { cause: reason, file });
}

/** Throws abortedError when `signal` is aborted: call it between two units of work. */
export function throwIfAborted(signal: AbortSignal | undefined, operation: string, file?: string): void {
  if (signal !== undefined && signal.aborted) throw abortedError(signal, operation, file);
}

/** Whether `err` is an abort (so that code turning failures into reports lets it through). */
export function isAborted(err: unknown): boolean {
  return err instanceof SeglogError && err.code === 'ERR_ABORTED';
}
