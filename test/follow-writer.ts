// The writer child of the follower tests (fixtures/follow-writer.mjs) driven line by line.
import path from 'node:path';
import { spawn } from 'node:child_process';
import { ChildLines, FIXTURES, type Harness } from './helpers.js';

/** Starts the writer child on `dir`: `send` runs one command and waits for its "ok". */
export async function startWriter(h: Harness, dir: string): Promise<{ send(cmd: string): Promise<void> }> {
  const child = spawn(process.execPath, [path.join(FIXTURES, 'follow-writer.mjs'), h.entry.dist, dir], { stdio: ['pipe', 'pipe', 'pipe'] });
  h.track(child);
  const lines = new ChildLines(child);
  await lines.waitFor((l) => l === 'ready');
  return {
    async send(cmd: string) {
      child.stdin!.write(`${cmd}\n`);
      await lines.waitFor((l) => l === `ok ${cmd}`);
    },
  };
}
