// The coordinator's options, their defaults and limits, and the injectable clock (tests drive the
// timers by hand). Every limit is named with its unit last and says why it has its value.
import { SeglogError } from '../../base/errors.js';
import type { Log } from '../../log-api.js';
import type { TimerHandle } from './group.js';

/** Seglog group names (src/consumers/subscribe-options.ts): 1 to 200 characters, no NUL. */
export const GROUP_ID_LENGTH_MAX = 200;

export interface GroupCoordinatorOptions {
  log: Log;
  /** The broker FindCoordinator names (this one). */
  nodeId: number;
  host: string;
  port: number;
  /** ms since the epoch (default Date.now). */
  now?: () => number;
  /** Default setTimeout, unref'd (a coordinator's timers never keep a process alive). */
  setTimer?: (fn: () => void, ms: number) => TimerHandle;
  clearTimer?: (handle: TimerHandle) => void;
  /**
   * How long the first rebalance of an empty group waits for more members (again each time one
   * joins meanwhile, up to the rebalance timeout). Kafka's group.initial.rebalance.delay.ms is
   * 3000; 300 lets consumers started together land in one generation without slowing tests.
   */
  initialRebalanceDelayMs?: number;
  /** Accepted session timeouts (Kafka: 6000 to 1800000; seglog accepts shorter ones, for tests). */
  sessionTimeoutMinMs?: number;
  sessionTimeoutMaxMs?: number;
  /** Groups held at once (default 10000); a new group beyond it gets COORDINATOR_NOT_AVAILABLE. */
  groupsMax?: number;
  /** Members plus handed-out member ids per group (default 1000); beyond: GROUP_MAX_SIZE_REACHED. */
  membersPerGroupMax?: number;
  /** Protocols in one JoinGroup (default 64) and their names and metadata together (default 1 MiB). */
  protocolsMax?: number;
  protocolBytesMax?: number;
  /** Characters of one commit's metadata string (Kafka's offset.metadata.max.bytes is 4096). */
  offsetMetadataLengthMax?: number;
  /** Commit metadata strings kept in memory, all groups together (default 100000; the oldest is dropped). */
  offsetMetadataEntriesMax?: number;
}

export interface CoordinatorConfig {
  readonly now: () => number;
  readonly setTimer: (fn: () => void, ms: number) => TimerHandle;
  readonly clearTimer: (handle: TimerHandle) => void;
  readonly initialRebalanceDelayMs: number;
  readonly sessionTimeoutMinMs: number;
  readonly sessionTimeoutMaxMs: number;
  readonly groupsMax: number;
  readonly membersPerGroupMax: number;
  readonly protocolsMax: number;
  readonly protocolBytesMax: number;
  readonly offsetMetadataLengthMax: number;
  readonly offsetMetadataEntriesMax: number;
}

function defaultSetTimer(fn: () => void, ms: number): TimerHandle {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return timer;
}

function defaultClearTimer(handle: TimerHandle): void {
  clearTimeout(handle as NodeJS.Timeout);
}

/** setTimeout's longest delay (a longer one would fire at once). */
const TIMER_MS_MAX = 2 ** 31 - 1;

function count(options: GroupCoordinatorOptions, name: keyof GroupCoordinatorOptions, fallback: number, min: number, max = TIMER_MS_MAX): number {
  const value = options[name] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid coordinator option ${name}: ${String(value)} (expected an integer from ${min} to ${max})`, { value });
  }
  return value;
}

export function coordinatorConfig(options: GroupCoordinatorOptions): CoordinatorConfig {
  const sessionTimeoutMinMs = count(options, 'sessionTimeoutMinMs', 100, 1);
  return {
    now: options.now ?? Date.now,
    setTimer: options.setTimer ?? defaultSetTimer,
    clearTimer: options.clearTimer ?? defaultClearTimer,
    initialRebalanceDelayMs: count(options, 'initialRebalanceDelayMs', 300, 0),
    sessionTimeoutMinMs,
    sessionTimeoutMaxMs: count(options, 'sessionTimeoutMaxMs', 1_800_000, sessionTimeoutMinMs),
    groupsMax: count(options, 'groupsMax', 10_000, 1),
    membersPerGroupMax: count(options, 'membersPerGroupMax', 1_000, 1),
    protocolsMax: count(options, 'protocolsMax', 64, 1),
    protocolBytesMax: count(options, 'protocolBytesMax', 1024 * 1024, 1),
    offsetMetadataLengthMax: count(options, 'offsetMetadataLengthMax', 4096, 0),
    offsetMetadataEntriesMax: count(options, 'offsetMetadataEntriesMax', 100_000, 0),
  };
}
