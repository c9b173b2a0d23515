// Public surface of the fleet simulator (DESIGN.md §7 "Fleet simulator", docs/embedded.md).
export { createFleet, DEFAULT_FRACTIONS, type Fleet, type FleetOptions, type FleetStats, type Fractions, type MalformedKind, type SimPacket } from './fleet.ts';
export { mulberry32, type Rng } from './rng.ts';
export { RINGS, RADIALS, DISTRICTS, CENTRE, toLatLng, congestion } from './roads.ts';
export { describeNetworkError, postPackets, runSimulation, type AttemptRecord, type PostOptions, type PostResult, type SimulationOptions, type SimulationReport } from './http.ts';
export { connectMqttPublisher, type MqttPublisher, type MqttPublisherOptions } from './mqtt.ts';
export { simulateWeeks, trafficFlowRows, writeWeeks, roadCells, PROFILES, SHANGHAI_UTC_OFFSET_S, DEFAULT_START_S, type TrafficWeeks, type WeeksOptions, type WeeksProfile, type RoadCell } from './weeks.ts';
