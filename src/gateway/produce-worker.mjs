// Entry of the producer worker thread: plain JS, because module loader hooks (tsx) are not
// inherited by worker threads. Registers tsx in this thread, then loads the TypeScript worker
// (the same way bin/iov.mjs starts the CLI).
import { register } from 'tsx/esm/api';

register();
await import('./produce-worker.ts');
