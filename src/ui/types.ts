// The shapes the map server answers and the page reads (the page's TypeScript is checked
// apart, with the DOM library, and imports nothing else from the server: src/ui/client/tsconfig.json).

export interface WindowInfo {
  /** Window start, unix seconds. */
  start: number;
  windowS: number;
  packets: number;
}

export interface CellFlow {
  /** H3 index, hex. */
  cell: string;
  segment: string;
  packets: number;
  vehicles: number;
  /** Time-mean speed of the packets that carried one, km/h (null when none did). */
  meanKmh: number | null;
}

export interface CellPoint {
  start: number;
  packets: number;
  vehicles: number;
  meanKmh: number | null;
}

export interface FlowSummary {
  /** Start of the latest closed window, unix seconds (null: none yet). */
  latest: number | null;
  /** traffic_flow rows (one per segment, cell, window and partition). */
  rows: number;
  packets: number;
}

export interface SegmentStatus {
  segment: string;
  cloud: string;
  /** Processes exporting metrics for this segment. */
  processes: number;
  /** Messages consumed per second since the previous collection (null on the first). */
  packetsPerS: number | null;
  /** Messages behind the log end, all partitions (null: no process exports it). */
  lag: number | null;
  /** Event-time watermark of the segment's slowest owned partition as of its last commit
   *  (min of iov_segment_watermark_seconds), unix seconds; null: no process exports one. */
  watermark: number | null;
  /** Start of the latest closed window in traffic_flow, unix seconds. */
  lastWindow: number | null;
}

export interface GatewayStatus {
  target: string;
  accepted: number;
  rejected: number;
  acceptedPerS: number | null;
  rejectedPerS: number | null;
  rejectedByCode: Record<string, number>;
  crossings: number;
}

export interface TargetStatus {
  name: string;
  kind: 'gateway' | 'segment' | 'query' | 'other';
  up: boolean;
  error?: string;
}

export interface CloudHealth {
  cloud: string;
  status: string;
  ms: number;
  error?: string;
}

export interface ServiceHealth {
  name: string;
  ok: boolean;
  detail: string;
}

export interface PipelineStatus {
  /** Collection time, epoch ms. */
  at: number;
  segments: SegmentStatus[];
  gateways: GatewayStatus[];
  targets: TargetStatus[];
  clouds: CloudHealth[];
  services: ServiceHealth[];
  /** One line per thing that is down; empty when everything is up. */
  down: string[];
}

export interface SegmentOutline {
  id: string;
  cloud: string;
  /** GeoJSON MultiPolygon coordinates ([lng, lat]) of the segment's cells' union. */
  polygons: number[][][][];
}

export interface TopologyInfo {
  name: string;
  resolution: number;
  /** [south, west, north, east] around every segment. */
  bounds: [number, number, number, number];
  segments: SegmentOutline[];
}
