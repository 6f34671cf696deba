// Frozen on-disk fixtures: the bytes of format versions 1 and 2, committed. The code must still
// write exactly the version 2 bytes for the same input, and must still read both (without any
// metadata, which also exercises the full-scan recovery path). A failure here means the format
// changed: bump FORMAT_VERSION and keep reading the old one instead of editing a fixture.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openLog } from '../src/index.js';

const fixtures = path.join(path.dirname(new URL(import.meta.url).pathname), 'format-fixtures');
const files = ['00000000000000000000.log', '00000000000000000000.index', '00000000000000000000.timeindex'];
let dir: string;
beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-fixture-')); });
afterEach(() => { fs.rmSync(dir, { recursive: true, force: true }); });

describe.each(['v1', 'v2'])('format %s fixture', (version) => {
  const fixture = path.join(fixtures, version);
  it.runIf(version === 'v2')('is what the code writes today for the worked example of docs/format.md', async () => {
    const log = await openLog(dir);
    await log.topic('example').appendBatch([
      { value: Buffer.from('hello'), key: 'k1', headers: { h: 'v' }, timestamp: 1700000000000 },
      { value: Buffer.from('world'), timestamp: 1700000000005 },
    ]);
    await log.close();
    for (const f of files) {
      expect(fs.readFileSync(path.join(dir, 'example', f)).toString('hex'), f).toBe(fs.readFileSync(path.join(fixture, f)).toString('hex'));
    }
  });

  it('opens from the segment files alone and reads the records back', async () => {
    fs.mkdirSync(path.join(dir, 'example'));
    for (const f of files) fs.copyFileSync(path.join(fixture, f), path.join(dir, 'example', f));
    const log = await openLog(dir);
    const t = log.topic('example');
    expect(t.startOffset).toBe(0);
    expect(t.endOffset).toBe(2);
    const [a, b] = [...t.read()];
    expect(a!.offset).toBe(0);
    expect(a!.timestamp).toBe(1700000000000);
    expect(a!.key!.toString()).toBe('k1');
    expect(a!.valueBytes!.toString()).toBe('hello');
    expect(Object.fromEntries(Object.entries(a!.headers).map(([k, v]) => [k, v.toString()]))).toEqual({ h: 'v' });
    expect(b!.offset).toBe(1);
    expect(b!.timestamp).toBe(1700000000005);
    expect(b!.key).toBeUndefined();
    expect(b!.headers).toEqual({});
    expect(b!.valueBytes!.toString()).toBe('world');
    expect(t.offsetForTime(1700000000003)).toBe(1);
    expect(await t.append(Buffer.from('next'))).toBe(2);
    await log.close();
  });
});
