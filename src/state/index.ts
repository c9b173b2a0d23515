export * from './types.ts';
export { createRedisState, type RedisStateOptions } from './redis.ts';
export { createMemoryState } from './memory.ts';
