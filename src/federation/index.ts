// Query federator (DESIGN.md §5): one SQL SELECT over every cloud's ClickHouse, merged exactly.
export { createFederator, DEFAULT_LIMITS, type Federator, type FederatorOptions, type FederatorLimits, type FederatedResult, type QueryOpts, type CloudReport, type CloudStatus } from './federator.ts';
export { createQueryServer, type QueryServerOptions } from './server.ts';
export { FederationError, FEDERATION_ERRORS, type FederationErrorCode } from './errors.ts';
export { parseSelect } from './parser.ts';
export { toCsv, toNdjson, toTable } from './format.ts';
export { createQueryMetrics, type QueryMetrics } from './metrics.ts';
export type { Plan, Column, Strategy } from './plan.ts';
