// Outbox / job queue with a consumer group: the app appends jobs to an 'outbox' topic; a worker
// consumes them through subscribe({ group: 'mailer' }), whose position is committed as it goes
// (autoCommit: a job counts as done once the worker asks for the next one). The worker stops half
// way (a deploy); the next worker in the same group resumes exactly where it stopped, and jobs
// appended while it runs arrive without polling.
//   node examples/outbox-queue.mjs [dir]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLog } from 'seglog';

const dir = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-outbox-'));
const sent = [];

async function runWorker(outbox, name, stopAfter) {
  let handled = 0;
  const sub = outbox.subscribe({ group: 'mailer' });
  console.log(`${name} starts at offset ${sub.position}`);
  for await (const job of sub) {
    sent.push(job.value.to);                       // "send the e-mail"
    handled++;
    if (handled === stopAfter) {                   // this job is done: commit it, then leave
      await sub.commit();                          // (break alone would leave it to be redone)
      break;
    }
  }
  console.log(`${name} handled ${handled} jobs, the group is now at ${sub.position} (lag ${sub.lag})`);
}

let log = await openLog(dir);
let outbox = log.topic('outbox', { codec: 'json' });
for (let i = 0; i < 10; i++) await outbox.append({ kind: 'welcome-mail', to: `user${i}@example.com` }, { key: `user${i}` });
await runWorker(outbox, 'worker A', 4);
await log.close();                                  // a deploy: the process goes away

log = await openLog(dir);
outbox = log.topic('outbox', { codec: 'json' });
const late = (async () => {                         // jobs that arrive while worker B waits at the tail
  await new Promise((resolve) => setTimeout(resolve, 20));
  for (let i = 10; i < 12; i++) await outbox.append({ kind: 'welcome-mail', to: `user${i}@example.com` }, { key: `user${i}` });
})();
await runWorker(outbox, 'worker B', 8);
await late;
console.log(`sent ${sent.length} mails, each once: ${new Set(sent).size === sent.length}, in order: ${sent.every((to, i) => to === `user${i}@example.com`)}`);
console.log('groups:', JSON.stringify(log.stats().topics.outbox.groups));
await log.close();
