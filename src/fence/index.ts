// Leases with fencing epochs (per-partition ownership across processes). See types.ts and
// docs/segment.md, Fencing.
export * from './types.ts';
export { createMemoryFence } from './memory.ts';
export { createRedisFence, type RedisFenceOptions } from './redis.ts';
