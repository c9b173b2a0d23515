// `iov demo --ui`: the map served over a running embedded pipeline (onLive) and kept up with
// the final summary until released (holdOpen); its answers agree with the run's summary.
import { expect, it } from 'vitest';
import { runPipeline } from '../../src/embedded/index.ts';
import { serveLiveMap, type LiveMap, type PipelineStatus, type WindowInfo } from '../../src/ui/index.ts';

it('serves the map during the run and after it, agreeing with the summary', async () => {
  let map: LiveMap | undefined;
  const during: number[] = [];
  let after: { windows: WindowInfo[]; status: PipelineStatus } | undefined;
  const getJson = async <T>(path: string): Promise<T> => (await (await fetch(new URL(path, map!.url))).json()) as T;
  const summary = await runPipeline({
    durationS: 3,
    vehicles: 300,
    maxWorkersPerSegment: 0,
    onLive: async (run) => {
      map = await serveLiveMap({ ...run, port: 0 });
      during.push((await fetch(map.url)).status, (await fetch(new URL('/api/topology', map.url))).status);
    },
    holdOpen: async () => {
      after = {
        windows: (await getJson<{ windows: WindowInfo[] }>('/api/windows')).windows,
        status: await getJson<PipelineStatus>('/api/status'),
      };
      await map!.close();
    },
  });
  expect(summary.ok).toBe(true);
  expect(during).toEqual([200, 200]);
  // Every closed window's packets, summed, are the run's traffic_flow packets.
  const flowPackets = summary.segments.reduce((a, s) => a + s.flowPackets, 0);
  expect(after!.windows.reduce((a, w) => a + w.packets, 0)).toBe(flowPackets);
  expect(after!.windows.length).toBeGreaterThan(0);
  // The panel reads the in-process gateway's and processors' registries.
  expect(after!.status.gateways).toHaveLength(1);
  expect(after!.status.gateways[0]).toMatchObject({
    target: 'gateway (in-process)',
    accepted: summary.gateway.accepted,
    crossings: summary.gateway.crossings,
  });
  expect(after!.status.segments.map((s) => [s.segment, s.processes])).toEqual([
    ['north', 1],
    ['central', 1],
    ['south', 1],
  ]);
  expect(after!.status.down).toEqual([]);
}, 180_000);
