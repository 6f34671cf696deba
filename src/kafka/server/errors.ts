// From what seglog throws to Kafka error codes: the one table the handlers share (docs/kafka.md,
// "Serving"). A KafkaError from records/ carries its own code; a SeglogError maps by its code;
// anything else is a bug of the server and UNKNOWN_SERVER_ERROR.
//
// Crash: nothing here is on disk.
import { debuglog } from 'node:util';
import { SeglogError } from '../../base/errors.js';
import { ErrorCode } from '../protocol/index.js';
import { KafkaError } from '../records/index.js';

export const debug = debuglog('seglog');

/** The Kafka error code for `err`, and its message (for the versions that carry one). */
export function kafkaErrorOf(err: unknown): { errorCode: number; errorMessage: string } {
  const errorMessage = err instanceof Error ? err.message : String(err);
  if (err instanceof KafkaError) {
    const e = err as unknown as { errorCode?: unknown; code?: unknown };
    const errorCode = typeof e.errorCode === 'number' ? e.errorCode : typeof e.code === 'number' ? e.code : ErrorCode.CORRUPT_MESSAGE;
    return { errorCode, errorMessage };
  }
  if (err instanceof SeglogError) {
    switch (err.code) {
      case 'ERR_RECORD_TOO_LARGE': return { errorCode: ErrorCode.MESSAGE_TOO_LARGE, errorMessage };
      case 'ERR_NO_SPACE':
      case 'ERR_IO':
      case 'ERR_CORRUPT': return { errorCode: ErrorCode.KAFKA_STORAGE_ERROR, errorMessage };
      // not retriable, and says what it is: this server may not write to the topic
      case 'ERR_READ_ONLY': return { errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage };
      case 'ERR_CLOSED': return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage };
      case 'ERR_INVALID_ARGUMENT': return { errorCode: ErrorCode.CORRUPT_MESSAGE, errorMessage };
      case 'ERR_OFFSET_OUT_OF_RANGE': return { errorCode: ErrorCode.OFFSET_OUT_OF_RANGE, errorMessage };
      default: break;
    }
  }
  debug('kafka: unexpected error %s', err instanceof Error ? err.stack : String(err));
  return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage };
}
