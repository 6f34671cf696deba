// Group management (SPEC, "Consumer groups: shared work and managed positions"): topic.groups()
// lists a topic's groups, topic.resetGroup() sets a committed position explicitly (backwards too:
// the one deliberate way back) and topic.deleteGroup() forgets one. Both changes are refused with
// ERR_INVALID_ARGUMENT while the group has open members (subscriptions of the group on this topic,
// in this process), so no member reads on from a position that changed under it. Another process
// holding a group cannot be seen here: the writer's lock keeps writers out, and a read-only
// follower commits nothing.
//
// Crash: a reset or delete resolves once the store has it durably (its flush); before that a crash
// leaves the old position or the new one, never anything else.
import { SeglogError, invalidArgument } from '../base/errors.js';
import type { ConsumerGroups, GroupState } from './consumer-groups.js';
import { checkOffset } from '../log/reader.js';
import { checkGroupName } from './subscribe-options.js';

/** One entry of topic.groups(). */
export interface GroupInfo {
  group: string;
  /** Where the group resumes: its committed position, or startOffset if retention removed that. */
  position: number;
  /** endOffset - position. */
  lag: number;
  /** Open subscriptions of the group on this topic in this process. */
  members: number;
}

/** What management needs of a topic. */
export interface ManagedTopic {
  readonly name: string;
  readonly startOffset: number;
  readonly endOffset: number;
  readonly readOnly: boolean;
  readonly groupStates: ConsumerGroups;
  checkOpen(): void;
  offsetForTime(time: Date): number;
  /** Makes the log's appends durable with the commits riding in them stored (ridden.ts): none can be re-applied over the change. */
  settleRidden(): Promise<void>;
}

export function listGroups(topic: ManagedTopic): GroupInfo[] {
  topic.checkOpen();
  const groups = topic.groupStates;
  const start = topic.startOffset;
  const end = topic.endOffset;
  return groups.names().map((name) => {
    const state = groups.find(name)!;
    // (a group with members but no committed position yet resumes where its members started)
    const position = state.committed < 0 ? start : Math.max(state.committed, start);
    return { group: name, position, lag: Math.max(0, end - position), members: state.members };
  });
}

export async function resetGroup(topic: ManagedTopic, group: unknown, to: unknown): Promise<void> {
  changeable(topic, group, 'reset');
  resetTarget(topic, to);
  await topic.settleRidden();
  const state = changeable(topic, group, 'reset'); // (again: a member may have joined meanwhile)
  const offset = resetTarget(topic, to);
  await topic.groupStates.reset(state ?? topic.groupStates.get(group as string), offset);
}

export async function deleteGroup(topic: ManagedTopic, group: unknown): Promise<void> {
  if (changeable(topic, group, 'delete') === undefined) return; // no such group: nothing to forget
  await topic.settleRidden();
  const state = changeable(topic, group, 'delete');
  if (state === undefined) return;
  await topic.groupStates.remove(state);
}

/** Checks the call; the group's state if it is known. */
function changeable(topic: ManagedTopic, name: unknown, what: string): GroupState | undefined {
  const group = checkGroupName('group', name);
  topic.checkOpen();
  if (topic.readOnly) throw new SeglogError('ERR_READ_ONLY', `cannot ${what} group ${group}: topic ${topic.name} was opened read-only`, { value: group });
  const state = topic.groupStates.find(group);
  if (state !== undefined && state.members > 0) {
    throw new SeglogError('ERR_INVALID_ARGUMENT', `cannot ${what} group ${group} of topic ${topic.name}: it has ${state.members} open member${state.members === 1 ? '' : 's'} (close its subscriptions first)`, { value: group });
  }
  return state;
}

/** The position `to` names: an offset (up to endOffset; below startOffset is startOffset), a Date, 'earliest' or 'latest'. */
function resetTarget(topic: ManagedTopic, to: unknown): number {
  if (to === 'earliest') return topic.startOffset;
  if (to === 'latest') return topic.endOffset;
  if (to instanceof Date) {
    if (Number.isNaN(to.getTime())) throw invalidArgument('reset position', to, "a valid Date, an offset, 'earliest' or 'latest'");
    return topic.offsetForTime(to);
  }
  if (typeof to !== 'number') throw invalidArgument('reset position', to, "an offset, a Date, 'earliest' or 'latest'");
  const offset = checkOffset('reset offset', to);
  if (offset > topic.endOffset) {
    throw new SeglogError('ERR_INVALID_ARGUMENT', `invalid reset offset: ${offset} is past the end of topic ${topic.name} (${topic.endOffset})`, { value: offset });
  }
  return Math.max(offset, topic.startOffset);
}
