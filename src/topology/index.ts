export * from './types.ts';
export { loadTopology, parseTopology, validateTopology, TopologyError } from './load.ts';
export { createSegmentLookup, cellToDecimal, decimalToCell, type Route, type SegmentLookup } from './lookup.ts';
export {
  readLocalState, stateFile, kafkaEndpoint, redisEndpoint, clickhouseEndpoint, storageClouds,
  EndpointError, DEFAULT_STATE_DIR, type LocalInfraState,
} from './endpoints.ts';
