// Prints the worked example of docs/format.md: the bytes seglog writes for a two-record batch.
// Usage: npm run build && node scripts/format-example.js [dir-to-keep-the-log-in]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLog } from '../dist/src/index.js';

const keep = process.argv[2];
const dir = keep ?? fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-format-'));
const log = await openLog(dir, { durability: 'fsync' });
const topic = log.topic('example');
await topic.appendBatch([
  { value: Buffer.from('hello'), key: 'k1', headers: { h: 'v' }, timestamp: 1700000000000 },
  { value: Buffer.from('world'), timestamp: 1700000000005 },
]);
await log.close();
const hex = (b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
for (const suffix of ['.log', '.index', '.timeindex']) {
  const bytes = fs.readFileSync(path.join(dir, 'example', '00000000000000000000' + suffix));
  console.log(`00000000000000000000${suffix} (${bytes.length} bytes)`);
  for (let i = 0; i < bytes.length; i += 16) console.log(`  ${i.toString().padStart(4)}: ${hex(bytes.subarray(i, i + 16))}`);
}
if (keep === undefined) fs.rmSync(dir, { recursive: true, force: true });
