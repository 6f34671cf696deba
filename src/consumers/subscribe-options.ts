// The options of topic.subscribe(), checked: every bad or unknown option is ERR_INVALID_ARGUMENT
// naming it and the value (SPEC's SubscribeOptions, and the group-member options of issue 12).
// Nothing on disk.
import { checkSignal } from '../base/abort.js';
import { invalidArgument, refuseUnknownKeys } from '../base/errors.js';
import { MAX_IN_FLIGHT_MAX } from './group-member.js';
import { checkOffset } from '../log/reader.js';
import type { SubscribeOptions } from './subscription-api.js';

/** Default bound on the records one batches() step hands out. */
export const SUBSCRIPTION_BUFFERED_DEFAULT = 1024;
/** Upper bound for maxBuffered: a batch is an array held by the consumer. */
export const SUBSCRIPTION_BUFFERED_MAX = 1_000_000;
/** Group names: like topic names in length, any characters but NUL. */
export const GROUP_NAME_LENGTH_MAX = 200;

/**
 * Checks a group name: a string of 1 to GROUP_NAME_LENGTH_MAX characters without NUL ('\0': the
 * default entry's LMDB keys use it as a separator, so `\0done\0<g>` would collide with a group's own key).
 */
export function checkGroupName(what: string, group: unknown): string {
  if (typeof group !== 'string' || group.length === 0 || group.length > GROUP_NAME_LENGTH_MAX || group.includes('\0')) {
    throw invalidArgument(what, group, `a string of 1 to ${GROUP_NAME_LENGTH_MAX} characters without NUL ('\\0')`);
  }
  return group;
}

const KNOWN_OPTIONS = new Set(['from', 'group', 'autoCommit', 'signal', 'maxBuffered', 'onGap', 'maxInFlight', 'maxDeliveries', 'deadLetter']);

/** The options of SPEC's SubscribeOptions, once checked. */
export type CheckedOptions = SubscribeOptions;

export function checkOptions(options: unknown): CheckedOptions {
  if (options === undefined) return {};
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw invalidArgument('subscribe options', options, 'an object');
  const o = options as Record<string, unknown>;
  refuseUnknownKeys('subscribe option', o, KNOWN_OPTIONS);
  const out: CheckedOptions = {};
  const { from, group, autoCommit, signal, maxBuffered, onGap, maxInFlight, maxDeliveries, deadLetter } = o;
  if (from !== undefined) {
    if (from === 'earliest' || from === 'latest') out.from = from;
    else if (from instanceof Date) {
      if (Number.isNaN(from.getTime())) throw invalidArgument('option from', from, "a valid Date, an offset, 'earliest' or 'latest'");
      out.from = from;
    } else if (typeof from === 'number') out.from = checkOffset('option from', from);
    else throw invalidArgument('option from', from, "an offset, a Date, 'earliest' or 'latest'");
  }
  if (group !== undefined) out.group = checkGroupName('option group', group);
  if (autoCommit !== undefined) {
    if (typeof autoCommit !== 'boolean') throw invalidArgument('option autoCommit', autoCommit, 'a boolean');
    out.autoCommit = autoCommit;
  }
  if (signal !== undefined) out.signal = checkSignal(signal, 'option signal');
  if (maxBuffered !== undefined) {
    if (typeof maxBuffered !== 'number' || !Number.isSafeInteger(maxBuffered) || maxBuffered < 1 || maxBuffered > SUBSCRIPTION_BUFFERED_MAX) {
      throw invalidArgument('option maxBuffered', maxBuffered, `an integer from 1 to ${SUBSCRIPTION_BUFFERED_MAX}`);
    }
    out.maxBuffered = maxBuffered;
  }
  if (onGap !== undefined) {
    if (typeof onGap !== 'function') throw invalidArgument('option onGap', onGap, 'a function ({ from, to }) => void');
    out.onGap = onGap as CheckedOptions['onGap'];
  }
  if (maxInFlight !== undefined) {
    if (typeof maxInFlight !== 'number' || !Number.isSafeInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > MAX_IN_FLIGHT_MAX) {
      throw invalidArgument('option maxInFlight', maxInFlight, `an integer from 1 to ${MAX_IN_FLIGHT_MAX}`);
    }
    out.maxInFlight = maxInFlight;
  }
  if (maxDeliveries !== undefined) {
    if (typeof maxDeliveries !== 'number' || !Number.isSafeInteger(maxDeliveries) || maxDeliveries < 1) throw invalidArgument('option maxDeliveries', maxDeliveries, 'an integer of at least 1');
    out.maxDeliveries = maxDeliveries;
  }
  if (deadLetter !== undefined) {
    if (deadLetter === null || typeof deadLetter !== 'object' || typeof (deadLetter as { appendSync?: unknown }).appendSync !== 'function') {
      throw invalidArgument('option deadLetter', deadLetter, "a topic (log.topic('name'))");
    }
    out.deadLetter = deadLetter as CheckedOptions['deadLetter'];
  }
  if ((out.maxDeliveries === undefined) !== (out.deadLetter === undefined)) {
    throw invalidArgument(out.deadLetter === undefined ? 'option maxDeliveries' : 'option deadLetter', out.maxDeliveries ?? 'a topic', 'maxDeliveries and deadLetter given together');
  }
  if ((out.maxInFlight !== undefined || out.deadLetter !== undefined) && out.group === undefined) {
    throw invalidArgument(out.maxInFlight !== undefined ? 'option maxInFlight' : 'option deadLetter', out.maxInFlight ?? 'a topic', 'left out when no group is given (they are options of a group member)');
  }
  return out;
}
