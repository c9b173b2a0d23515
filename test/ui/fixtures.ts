// Map tests' data: the Shanghai topology over the test ClickHouse servers (one fresh database
// per cloud), and traffic_flow rows written the way the segment processor writes them.
import { cellToChildren } from 'h3-js';
import { createFederator, type Federator } from '../../src/federation/index.ts';
import type { Store } from '../../src/store/index.ts';
import { cellToDecimal, loadTopology, type Topology } from '../../src/topology/index.ts';
import { randomName, testStore } from '../helpers/index.ts';

export interface FlowFixture {
  topology: Topology;
  stores: Store[];
  federator: Federator;
  /** Write one window's rows for these cells (speed in km/h; two partitions per cell). */
  writeWindow(start: number, cells: { cell: string; packets: number; kmh: number }[]): Promise<void>;
  /** `n` res-9 cells of every segment, in topology order. */
  cellsOf(segment: string, n: number): string[];
  close(): Promise<void>;
}

export const T0 = 1_767_254_400; // 2026-01-01 08:00:00Z

export async function flowFixture(): Promise<FlowFixture> {
  const topology = loadTopology(new URL('../../infra/topology/shanghai.yaml', import.meta.url).pathname);
  const db = randomName('ui');
  const stores = ['cloud-a', 'cloud-b', 'cloud-c'].map((c) => testStore(c, db));
  await Promise.all(stores.map((s) => s.migrate()));
  const federator = createFederator({ topology, stores });
  const segmentOf = (cell: string) =>
    topology.segments.find((s) => s.cells.some((p) => cellToChildren(p, topology.h3.resolution).includes(cell)))!;
  return {
    topology,
    stores,
    federator,
    cellsOf(segment, n) {
      const seg = topology.segments.find((s) => s.id === segment)!;
      return cellToChildren(seg.cells[Math.floor(seg.cells.length / 2)]!, topology.h3.resolution).slice(0, n);
    },
    async writeWindow(start, cells) {
      const byCloud = new Map<string, Record<string, unknown>[]>();
      for (const c of cells) {
        const seg = segmentOf(c.cell);
        // Two partitions' rows per cell, as two partitions holding disjoint vehicles would write.
        const first = Math.ceil(c.packets / 2);
        for (const [part, packets] of [
          [0, first],
          [1, c.packets - first],
        ] as const) {
          if (packets === 0) continue;
          const rows = byCloud.get(seg.cloud) ?? [];
          rows.push({
            window_start: start,
            window_s: 60,
            segment: seg.id,
            cell: cellToDecimal(c.cell),
            vehicles: Math.max(1, Math.floor(packets / 3)),
            packets,
            speed_sum: c.kmh * packets,
            speed_count: packets,
            inv_speed_sum: packets / c.kmh,
            min_speed: c.kmh,
            max_speed: c.kmh,
            part,
          });
          byCloud.set(seg.cloud, rows);
        }
      }
      await Promise.all([...byCloud].map(([cloud, rows]) => stores.find((s) => s.cloud === cloud)!.insert('traffic_flow', rows)));
    },
    async close() {
      await federator.close();
      await Promise.all(
        stores.map(async (s) => {
          await s.command(`DROP DATABASE IF EXISTS ${db}`).catch(() => {});
          await s.close();
        }),
      );
    },
  };
}
