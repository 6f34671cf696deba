// InitProducerId (key 22), from Kafka's InitProducerIdRequest.json / InitProducerIdResponse.json.
// v2+ is flexible. Defined for idempotent producers (issue 12); not served yet.
import type { MessageSchema } from '../schema.js';

export const InitProducerIdRequest: MessageSchema = {
  name: 'InitProducerIdRequest', apiKey: 22, type: 'request', validVersions: '0-5', flexibleVersions: '2+',
  fields: [
    { name: 'transactionalId', type: 'string', versions: '0+', nullableVersions: '0+' },
    { name: 'transactionTimeoutMs', type: 'int32', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '3+', default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: '3+', default: -1 },
  ],
};

export const InitProducerIdResponse: MessageSchema = {
  name: 'InitProducerIdResponse', apiKey: 22, type: 'response', validVersions: '0-5', flexibleVersions: '2+',
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: '0+' },
    { name: 'errorCode', type: 'int16', versions: '0+' },
    { name: 'producerId', type: 'int64', versions: '0+', default: -1 },
    { name: 'producerEpoch', type: 'int16', versions: '0+' },
  ],
};
