// The segment process's small HTTP surface on --metrics-port: /metrics (Prometheus),
// /healthz (liveness: 503 once a processor crashed) and /readyz (readiness: 503 while not
// running or while a partition is stopped; the body names the stopped partitions and codes,
// and the partitions this member owns with their next offsets).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { SegmentHealth } from './types.ts';

export interface SegmentHttpSource {
  metrics(): Registry;
  health(): SegmentHealth;
}

export function segmentHttpHandler(source: SegmentHttpSource): (req: IncomingMessage, res: ServerResponse) => void {
  const json = (res: ServerResponse, ok: boolean, body: unknown) =>
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/metrics') {
      const registry = source.metrics();
      registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text), (err: Error) => res.writeHead(500).end(err.message));
    } else if (path === '/healthz') {
      const h = source.health();
      json(res, h.live, { live: h.live, status: h.status });
    } else if (path === '/readyz') {
      const h = source.health();
      json(res, h.ready, h);
    } else {
      res.writeHead(404).end();
    }
  };
}
