// The map server (fastify): the page, its script and land outline, JSON endpoints over the
// federator, the pipeline status, and server-sent events for live updates.
//   GET /                         the page
//   GET /app.js, /assets/land.json
//   GET /api/topology             segments (outline, cloud), H3 resolution, bounds
//   GET /api/windows              closed windows, oldest first (the time slider)
//   GET /api/cells?window=<unix>  cells of one window (hex id, packets, vehicles, mean km/h)
//   GET /api/cells/<hex>/history  one cell over time
//   GET /api/forecast?horizon=<15|30|60>  each segment's latest forecast issue (the +15/+30/+60 toggle)
//   GET /api/status               the pipeline panel's facts (status.ts)
//   GET /api/events               SSE: `flow` (summary, when it changes) and `status`
// Errors: {"error": {"code", "message"}} with the federator's or errors.ts's status.
import Fastify, { type FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import { FederationError, type Federator } from '../federation/index.ts';
import type { Topology } from '../topology/index.ts';
import { INDEX_HTML, clientBundle, landNear, segmentOutlines, topologyBounds } from './assets.ts';
import { createFlowData } from './data.ts';
import { UiError } from './errors.ts';
import type { StatusCollector } from './status.ts';
import type { FlowSummary, PipelineStatus } from './types.ts';

export interface UiServerOptions {
  topology: Topology;
  federator: Federator;
  /** The pipeline panel's source; without it /api/status answers an empty status. */
  status?: StatusCollector;
  /** How often live updates look for new windows and collect the status, ms (default 2000). */
  pollMs?: number;
  logger?: boolean;
}

export function createUiServer(opts: UiServerOptions): FastifyInstance {
  const { topology } = opts;
  const pollMs = opts.pollMs ?? 2_000;
  if (!Number.isInteger(pollMs) || pollMs <= 0) throw new RangeError('options.pollMs must be a positive integer');
  const data = createFlowData(opts.federator);
  const app = Fastify({ logger: opts.logger ?? false });
  const emptyStatus = (): PipelineStatus => ({
    at: Date.now(),
    segments: [],
    gateways: [],
    targets: [],
    clouds: [],
    services: [],
    down: [],
  });
  const collectStatus = () => (opts.status ? opts.status.collect() : Promise.resolve(emptyStatus()));

  app.setErrorHandler((err, _req, reply) => {
    if (err instanceof UiError || err instanceof FederationError) {
      void reply.status(err.statusCode).send({ error: { code: err.code, message: err.message } });
      return;
    }
    void reply.status(500).send({ error: { code: 'INTERNAL', message: (err as Error).message } });
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new UiError('UI_NOT_FOUND', req.url);
    void reply.status(e.statusCode).send({ error: { code: e.code, message: e.message } });
  });

  let land: string | undefined;
  const topologyJson = {
    name: topology.name,
    resolution: topology.h3.resolution,
    bounds: topologyBounds(topology),
    segments: segmentOutlines(topology),
  };

  app.get('/', async (_req, reply) => reply.type('text/html; charset=utf-8').send(INDEX_HTML));
  app.get('/app.js', async (_req, reply) =>
    reply
      .type('text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(await clientBundle()),
  );
  app.get('/assets/land.json', async (_req, reply) => {
    land ??= JSON.stringify(landNear(topology));
    return reply.type('application/json').send(land);
  });
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/api/topology', async () => topologyJson);
  app.get('/api/windows', async () => ({ windows: await data.windows() }));
  app.get('/api/cells', async (req) => {
    const raw = (req.query as Record<string, string | undefined>).window ?? '';
    if (!/^\d+$/.test(raw)) throw new UiError('UI_BAD_WINDOW', raw);
    return { window: Number(raw), cells: await data.cells(Number(raw)) };
  });
  app.get('/api/cells/:cell/history', async (req) => {
    const cell = (req.params as { cell: string }).cell;
    return { cell, history: await data.history(cell) };
  });
  app.get('/api/forecast', async (req) => {
    const raw = (req.query as Record<string, string | undefined>).horizon ?? '';
    if (!/^\d+$/.test(raw)) throw new UiError('UI_BAD_HORIZON', raw);
    return { horizon: Number(raw), ...(await data.forecast(Number(raw))) };
  });
  app.get('/api/status', async () => collectStatus());

  // ---- live updates: one poller for every open event stream --------------------------------
  const streams = new Set<ServerResponse>();
  let timer: NodeJS.Timeout | undefined;
  let lastFlow = '';
  let polling = false;
  const send = (res: ServerResponse, event: string, body: string) => res.write(`event: ${event}\ndata: ${body}\n\n`);
  const broadcast = (event: string, body: string) => {
    for (const s of streams) send(s, event, body);
  };
  const poll = async () => {
    if (polling) return;
    polling = true;
    try {
      const [flow, status] = await Promise.all([
        data.summary().catch((e: Error) => ({ error: e.message }) as FlowSummary | { error: string }),
        collectStatus().catch((e: Error) => ({ ...emptyStatus(), down: [`status: ${e.message}`] })),
      ]);
      const flowText = JSON.stringify(flow);
      if (flowText !== lastFlow) broadcast('flow', flowText);
      lastFlow = flowText;
      broadcast('status', JSON.stringify(status));
    } finally {
      polling = false;
    }
  };
  app.get('/api/events', (req, reply) => {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(`retry: ${pollMs}\n\n`);
    if (lastFlow) send(res, 'flow', lastFlow);
    streams.add(res);
    timer ??= setInterval(() => void poll(), pollMs);
    void poll();
    req.raw.on('close', () => {
      streams.delete(res);
      if (streams.size === 0 && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    });
  });
  app.addHook('preClose', async () => {
    if (timer) clearInterval(timer);
    timer = undefined;
    for (const s of streams) s.end();
    streams.clear();
  });

  return app;
}
