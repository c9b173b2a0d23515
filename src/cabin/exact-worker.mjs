// Entry of the MILP worker thread (exact-thread.ts): plain JS, because module loader hooks
// (tsx) are not inherited by worker threads; registers tsx here, then loads the TypeScript
// worker (the pattern of src/gateway/produce-worker.mjs).
import { register } from 'tsx/esm/api';

register();
await import('./exact-worker.ts');
