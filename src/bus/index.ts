export * from './types.ts';
export { createKafkaBus, GROUP_TIMINGS, isRefusedSync, keyPartitioner, type KafkaBusOptions } from './kafka.ts';
export { createMemoryBus, murmur2, partitionOf, type MemoryBus, type MemoryBusOptions } from './memory.ts';
