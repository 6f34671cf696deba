// The group coordinator's public face for the server (docs/kafka.md, "Consumer groups").
export { GroupCoordinator, type FindCoordinatorResponse } from './coordinator.js';
export type { GroupCoordinatorOptions } from './config.js';
export type { GroupDescription } from './membership.js';
export type * from './messages.js';
