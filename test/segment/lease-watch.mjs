// Entry of lease-watch.ts's worker thread: plain JS, because module loader hooks (tsx) are not
// inherited by worker threads (as src/gateway/produce-worker.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./lease-watch.ts');
