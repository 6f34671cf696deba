// KafkaError: what the record-batch code throws on input it refuses, carrying the Kafka error code
// the broker answers with for that partition. The codes here are Kafka's numbers (Errors.java in
// apache/kafka); only those records/ uses are named. protocol/ has the full ErrorCode table: the
// numbers are the same, so a handler can put `err.code` in a response as it is.

/** The Kafka error codes records/ throws. */
export const RecordsErrorCode = {
  /** A CRC mismatch, a batch longer than the bytes sent, an unknown magic: damage in transit. */
  CORRUPT_MESSAGE: 2,
  /** A decompressed batch larger than the bound (a decompression bomb, or just too big). */
  MESSAGE_TOO_LARGE: 10,
  /** Magic 0 or 1 (message sets before Kafka 0.11): not served. */
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 43,
  /** Codec 5–7 in the batch attributes. */
  UNSUPPORTED_COMPRESSION_TYPE: 76,
  /** A batch whose CRC is right but whose contents are not a valid batch, or that is refused. */
  INVALID_RECORD: 87,
} as const;

export class KafkaError extends Error {
  /** Kafka's error code (RecordsErrorCode). */
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.name = 'KafkaError';
    this.code = code;
  }
}
