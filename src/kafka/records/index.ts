// The record layer of seglog's Kafka server (docs/kafka.md, "Record batches"): record batch v2
// decoding with every check and decompression (Produce), encoding (Fetch), CRC32C.
export { readProducedBatches, DECOMPRESSED_BYTES_MAX_DEFAULT, type ProducedRecord, type ReadBatchesOptions } from './batch-reader.js';
export { encodeBatch, type EncodeLimits, type EncodedBatch } from './batch-writer.js';
export { encodeLogBatch, releaseLogBatch, type EncodedLogBatch, type RawBatchSource } from './log-batch-writer.js';
export { crc32c } from './crc32c.js';
export { KafkaError, RecordsErrorCode } from './kafka-error.js';
export { readProducedSpans, readHeaders } from './batch-reader.js';
export { ProducedSpans } from './produced-spans.js';
