export * from './types.ts';
export { createKafkaBus, type KafkaBusOptions } from './kafka.ts';
