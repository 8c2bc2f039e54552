// Worker-thread entry of the RowRenderer: renders one batch at a time.
import { parentPort } from 'node:worker_threads';
import type { RenderRequest, RenderResponse } from './row-renderer.js';
import { renderGroups } from './row-rendering.js';

if (!parentPort) throw new Error('row-render-worker must run in a worker thread');
const port = parentPort;

port.on('message', (msg: RenderRequest) => {
  let reply: RenderResponse;
  try {
    reply = { id: msg.id, groups: renderGroups(msg.entries, msg.groups) };
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    reply = { id: msg.id, error: { name: e.name, message: e.message, stack: e.stack } };
  }
  port.postMessage(reply);
});
