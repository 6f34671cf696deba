// Cross-process tail: one process writes a log, another follows it read-only, as `tail -f` does
// for a file. The follower opens the directory with { readOnly: true, follow: true } (no lock: the
// writer keeps it); the log then picks up what the writer appends by itself (a file watch, and a
// poll for file systems that drop watch events), and a subscription on it wakes for each write.
//   node examples/cross-process-tail.mjs [dir]       (starts the writer as a child process itself)
// Run again with the same dir, it follows the new run's records (after those already there).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLog } from 'seglog';

const COUNT = 500;

if (process.argv[2] === '--writer') {
  // The writer: appends COUNT log lines, a few at a time, then closes.
  const log = await openLog(process.argv[3]);
  const lines = log.topic('app-log', { codec: 'string', segmentBytes: 4096 });
  for (let i = 0; i < COUNT; i++) {
    await lines.append(`${new Date().toISOString()} worker-${i % 3} handled request ${i}`);
    if (i % 25 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await log.close();
  process.exit(0);
}

const dir = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-tail-'));
// Run again in the same directory, the writer appends after the records of earlier runs: this
// run's records start at the end offset the topic has before the writer starts.
let start = 0;
if (fs.existsSync(path.join(dir, 'app-log'))) {
  const before = await openLog(dir, { readOnly: true });
  start = before.topic('app-log', { codec: 'string' }).endOffset;
  await before.close();
}
const writer = spawn(process.execPath, [fileURLToPath(import.meta.url), '--writer', dir], { stdio: 'inherit' });

// Wait until the writer has created the topic, then follow it.
while (!fs.existsSync(path.join(dir, 'app-log'))) await new Promise((resolve) => setTimeout(resolve, 10));
const log = await openLog(dir, { readOnly: true, follow: true });
while (!log.topics().includes('app-log')) await new Promise((resolve) => setTimeout(resolve, 10)); // picked up by itself
const topic = log.topic('app-log', { codec: 'string' });
let shown = 0;
let matched = 0;                                     // records that are this run's request n at offset start + n
for await (const record of topic.subscribe({ from: start })) {
  if (shown < 3 || record.offset >= start + COUNT - 2) console.log(`follower got ${record.offset}: ${record.value}`);
  else if (shown === 3) console.log('...');
  if (record.value.endsWith(` handled request ${record.offset - start}`)) matched++;
  shown++;
  if (record.offset + 1 >= start + COUNT) break;
}
await log.close();
await new Promise((resolve) => (writer.exitCode !== null ? resolve() : writer.on('exit', resolve)));
console.log(`follower saw ${shown} records written by process ${writer.pid}, all of them: ${shown === COUNT && matched === COUNT}`);
