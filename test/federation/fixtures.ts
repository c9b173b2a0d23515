// Deterministic data for the federation tests: packets and traffic_flow rows for the three
// segments of the Shanghai topology. Each segment's rows go to its cloud's database; the
// oracle database (same name, on the `oracle` server) holds the union.
import { createSegmentLookup, cellToDecimal, loadTopology, type Topology } from '../../src/topology/index.ts';
import type { Row, Store } from '../../src/store/index.ts';
import { rng } from '../helpers/index.ts';

export function shanghai(): Topology {
  return loadTopology(new URL('../../infra/topology/shanghai.yaml', import.meta.url).pathname);
}


// Latitude bands inside each segment's bbox (north 31.3–31.5, central 31.1–31.3, south 30.9–31.1).
const BANDS: Record<string, [number, number]> = { north: [31.33, 31.47], central: [31.13, 31.27], south: [30.93, 31.07] };

export interface Dataset {
  packets: Record<string, Row[]>; // by segment
  flow: Record<string, Row[]>;
  cells: Record<string, string[]>; // decimal cells by segment
}

export const T0 = Date.UTC(2024, 2, 1, 7, 50, 0) / 1000; // 07:50 UTC: windows cross an hour

export function makeDataset(topo: Topology, seed = 42): Dataset {
  const r = rng(seed);
  const lookup = createSegmentLookup(topo);
  const ds: Dataset = { packets: {}, flow: {}, cells: {} };
  for (const seg of topo.segments) {
    const [lo, hi] = BANDS[seg.id]!;
    const cells: string[] = [];
    const cellPos: [number, number][] = [];
    while (cells.length < 5) {
      const lat = lo + r() * (hi - lo);
      const lng = 121.2 + r() * 0.5;
      const rt = lookup.route(lat, lng);
      if (rt.segment !== seg.id) continue;
      const dec = cellToDecimal(rt.cell);
      if (cells.includes(dec)) continue;
      cells.push(dec);
      cellPos.push([lat, lng]);
    }
    ds.cells[seg.id] = cells;
    const flow: Row[] = [];
    for (const [ci, cell] of cells.entries()) {
      for (let w = 0; w < 18; w++) {
        for (let part = 0; part < 3; part++) {
          if (r() < 0.25) continue; // not every (cell, window, partition) has traffic
          // 0 = no speed readings in this row; the last cell of each segment never has any, so
          // its time-mean speed is 0/0 = NaN (ordering: NaN last for ASC and DESC).
          const sc = ci === cells.length - 1 ? 0 : Math.floor(r() * 6);
          // Tenths of km/h: most are not exact in Float32 (min_speed/max_speed), so arithmetic
          // after the merge must use the Float32 values, as ClickHouse does.
          const speeds = Array.from({ length: sc }, () => Math.round(r() * 1200) / 10); // includes 0
          const nz = speeds.filter((s) => s > 0);
          flow.push({
            window_start: T0 + w * 60, window_s: 60, segment: seg.id, cell,
            vehicles: 1 + Math.floor(r() * 4), packets: sc + Math.floor(r() * 3),
            speed_sum: speeds.reduce((a, b) => a + b, 0) + (sc ? r() / 3 : 0), speed_count: sc,
            inv_speed_sum: nz.reduce((a, b) => a + 1 / b, 0),
            min_speed: sc ? Math.min(...speeds) : 0, max_speed: sc ? Math.max(...speeds) : 0, part,
          });
        }
      }
    }
    ds.flow[seg.id] = flow;
    const packets: Row[] = [];
    for (let v = 0; v < 12; v++) {
      const vid = `${seg.id.slice(0, 1)}-veh-${String(v).padStart(3, '0')}`;
      for (let s = 1; s <= 20; s++) {
        const ci = Math.floor(r() * cells.length);
        const tsMs = (T0 + Math.floor(r() * 18 * 60)) * 1000 + Math.floor(r() * 1000);
        packets.push({
          segment: seg.id, vehicle_id: vid, seq: String(s), ts: Math.floor(tsMs / 1000), ts_ms: String(tsMs),
          lat: cellPos[ci]![0] + r() * 1e-3, lng: cellPos[ci]![1] + r() * 1e-3,
          speed_kmh: r() < 0.15 ? 0 : Math.round(r() * 1200) / 10, heading: Math.floor(r() * 360),
          cell: cells[ci]!, ingest_ts_ms: String(tsMs + 50 + Math.floor(r() * 500)), gateway_id: `gw-${1 + Math.floor(r() * 3)}`,
          kafka_partition: v % 4, kafka_offset: String(v * 100 + s),
        });
      }
    }
    ds.packets[seg.id] = packets;
  }
  return ds;
}

/** Load each segment's rows into its cloud's store and the union into the oracle. */
export async function loadDataset(ds: Dataset, topo: Topology, stores: Store[], oracle: Store): Promise<void> {
  await Promise.all([...stores, oracle].map((s) => s.migrate()));
  for (const seg of topo.segments) {
    const store = stores.find((s) => s.cloud === seg.cloud)!;
    await store.insert('packets', ds.packets[seg.id]!);
    await store.insert('traffic_flow', ds.flow[seg.id]!);
  }
  await oracle.insert('packets', Object.values(ds.packets).flat());
  await oracle.insert('traffic_flow', Object.values(ds.flow).flat());
}
