// KafkaProtocolError: what the protocol layer throws for bytes that are not a valid Kafka message
// (short, truncated, a length past the end of the frame, trailing bytes, an unknown version). The
// server answers it by closing that one connection. It is a SeglogError (code ERR_CORRUPT) carrying
// the position in the frame where decoding stopped.
import { SeglogError } from '../../base/errors.js';

/** Malformed Kafka protocol bytes: `position` is the byte offset in the frame where decoding failed. */
export class KafkaProtocolError extends SeglogError {
  constructor(message: string, position?: number) {
    super('ERR_CORRUPT', position === undefined ? message : `${message} (at byte ${position})`, position === undefined ? {} : { position });
    this.name = 'KafkaProtocolError';
  }
}
