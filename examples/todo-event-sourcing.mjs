// Event-sourced todo store: every change is an event appended to a 'todo-events' topic; the current
// state is a fold over the events, rebuilt by replaying them at start-up. Closing and reopening the
// log (a restart) gives back the same state, and the history is there to audit.
//   node examples/todo-event-sourcing.mjs [dir]        (default: a temporary directory)
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openLog } from 'seglog';

const dir = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'seglog-todo-'));

/** Applies one event to the state (a Map id -> todo). */
function apply(state, event) {
  switch (event.type) {
    case 'added': state.set(event.id, { id: event.id, title: event.title, done: false }); break;
    case 'completed': if (state.has(event.id)) state.get(event.id).done = true; break;
    case 'renamed': if (state.has(event.id)) state.get(event.id).title = event.title; break;
    case 'removed': state.delete(event.id); break;
    default: throw new Error(`unknown event ${event.type}`);
  }
  return state;
}

/** Replays the whole topic into a fresh state. */
function replay(events) {
  const state = new Map();
  for (const record of events.read()) apply(state, record.value);
  return state;
}

class TodoStore {
  static async open(dir) {
    const log = await openLog(dir);
    const events = log.topic('todo-events', { codec: 'json' });
    return new TodoStore(log, events, replay(events));
  }
  constructor(log, events, state) { this.log = log; this.events = events; this.state = state; }
  async #emit(event) {
    await this.events.append(event, { key: event.id });   // durable once it resolves ('fsync')
    apply(this.state, event);
  }
  add(id, title) { return this.#emit({ type: 'added', id, title }); }
  complete(id) { return this.#emit({ type: 'completed', id }); }
  rename(id, title) { return this.#emit({ type: 'renamed', id, title }); }
  remove(id) { return this.#emit({ type: 'removed', id }); }
  list() { return [...this.state.values()]; }
  close() { return this.log.close(); }
}

let store = await TodoStore.open(dir);
await store.add('t1', 'buy milk');
await store.add('t2', 'write report');
await store.add('t3', 'call Ada');
await store.complete('t1');
await store.rename('t2', 'write the quarterly report');
await store.remove('t3');
const before = JSON.stringify(store.list());
await store.close();

store = await TodoStore.open(dir);                        // a restart: the state is replayed
console.log('todos after restart:');
for (const t of store.list()) console.log(`  [${t.done ? 'x' : ' '}] ${t.id} ${t.title}`);
console.log(`state identical after restart: ${JSON.stringify(store.list()) === before}`);
console.log('history of t2:');
for (const r of store.events.read()) {
  if (r.key.toString() === 't2') console.log(`  offset ${r.offset}: ${r.value.type}${r.value.title ? ` "${r.value.title}"` : ''}`);
}
console.log(`${store.events.endOffset} events in ${dir}`);
await store.close();
