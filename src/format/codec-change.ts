// No silent retyping: `log.topic(name, { codec })` on a topic that already exists may not change
// the codec its records are decoded with, unless the call says so (`changeCodec: true`). The
// codec in force is the one the topic was opened with in this process, else the stored one
// (`'custom'` for a user codec object, which cannot be stored). Pure function, nothing on disk:
// a refused call changes nothing, neither the stored options nor the topic object others hold.
//
//   in force \ given   none          same name   other name   a Codec object
//   a name             ok            ok          refused      refused
//   a Codec object     ok            refused     refused      ok (objects are not comparable)
//   'custom', none yet refused       refused     refused      ok
//   only a default     ok            ok          ok           ok
// "Only a default": nothing given or stored says what the records are (a topic stored before
// codecs were recorded, which may have had a user codec; a read-only follower that cannot see the
// writer's metadata): the first codec given is taken, and from then on it is in force.
import { SeglogError } from '../base/errors.js';
import { CUSTOM_CODEC, type ResolvedTopicOptions, type TopicOptions } from './options.js';

function describeCodec(codec: string | undefined): string {
  return codec === undefined || codec === CUSTOM_CODEC ? 'a custom codec' : `codec '${codec}'`;
}

/** Throws ERR_INVALID_ARGUMENT when `given` would change the codec of the open topic `name` without `changeCodec: true`. */
export function checkCodecChange(name: string, current: ResolvedTopicOptions<unknown>, given: TopicOptions): void {
  if (given.changeCodec === true || current.codecFrom === 'default') return;
  const codec = given.codec;
  if (current.customCodecMissing) {
    if (codec === undefined) {
      throw new SeglogError('ERR_INVALID_ARGUMENT',
        `topic ${name} was created with a custom codec, which is not stored: pass it on every open (log.topic('${name}', { codec }))`, { value: name });
    }
    if (typeof codec === 'string') throw refused(name, CUSTOM_CODEC, codec);
    return;
  }
  if (codec === undefined) return;
  const inForce = current.codecName; // undefined: a Codec object given earlier in this process
  if (typeof codec === 'string') {
    if (codec !== inForce) throw refused(name, inForce, codec);
    return;
  }
  if (inForce !== undefined) throw refused(name, inForce, codec);
}

function refused(name: string, inForce: string | undefined, given: unknown): SeglogError {
  const givenText = typeof given === 'string' ? `codec '${given}'` : 'a custom codec';
  return new SeglogError('ERR_INVALID_ARGUMENT',
    `invalid option codec: ${givenText} for topic ${name}, whose records are written with ${describeCodec(inForce)} (to change a topic's codec on purpose, add changeCodec: true; the records already written are not re-encoded)`,
    { value: given });
}
