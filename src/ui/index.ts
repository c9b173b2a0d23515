// The map page and its endpoints, the pipeline status (DESIGN.md §10, issue 18).
export { createUiServer, type UiServerOptions } from './server.ts';
export { createStatusCollector, type StatusCollector, type StatusOptions } from './status.ts';
export { createFlowData, cellDecimal, type FlowData } from './data.ts';
export type * from './types.ts';
export { formatStatus } from './format.ts';
export { parsePrometheusText, urlTarget, registryTarget, type MetricsTarget, type Sample } from './prom.ts';
export { clientBundle } from './assets.ts';
export { UiError, UI_ERRORS, type UiErrorCode } from './errors.ts';
export { serveLiveMap, type LiveMap, type LiveMapOptions } from './live.ts';
