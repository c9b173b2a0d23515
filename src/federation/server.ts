// HTTP surface: POST /v1/query, GET /metrics (metrics.ts), GET /healthz. JSON in ({sql,
// partial?, format?, timeoutMs?, explain?}); out as JSON (rows + per-cloud report + plan),
// NDJSON or CSV (per-cloud report in the X-Iov-Clouds / X-Iov-Partial headers). Errors: {error: {code, message}} with the
// catalogue's HTTP status.
import Fastify, { type FastifyInstance } from 'fastify';
import { FederationError } from './errors.ts';
import type { Federator } from './federator.ts';
import { cloudsHeader, toCsv, toNdjson } from './format.ts';
import { createQueryMetrics } from './metrics.ts';

export interface QueryServerOptions {
  federator: Federator;
  /** Request body limit in bytes (default 1 MiB). */
  bodyLimit?: number;
  logger?: boolean;
}

const FORMATS = new Set(['json', 'ndjson', 'csv']);

export function createQueryServer(opts: QueryServerOptions): FastifyInstance {
  if (!opts?.federator) throw new TypeError('options.federator is required');
  const app = Fastify({ logger: opts.logger ?? false, bodyLimit: opts.bodyLimit ?? 1 << 20 });
  const { federator } = opts;
  const metrics = createQueryMetrics();

  app.setErrorHandler((err, req, reply) => {
    const e = err as Error & { statusCode?: number };
    const [status, error] =
      err instanceof FederationError ? [err.statusCode, { code: err.code, message: err.message, ...(err.clouds ? { clouds: err.clouds } : {}) }]
      : e.statusCode && e.statusCode >= 400 && e.statusCode < 500 ? [e.statusCode, { code: 'BAD_REQUEST', message: `bad request: ${e.message}` }]
      : [500, { code: 'INTERNAL', message: e.message }];
    if (req.routeOptions.url === '/v1/query') metrics.queries.inc({ status: String(status), code: error.code });
    void reply.status(status).send({ error });
  });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/metrics', async (_req, reply) => reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics()));

  app.post('/v1/query', async (req, reply) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new FederationError('BAD_REQUEST', 'the body must be a JSON object {"sql": "..."}');
    const { sql, partial, timeoutMs, explain } = body;
    const format = (body.format ?? (req.query as Record<string, unknown>).format ?? 'json') as string;
    if (typeof sql !== 'string' || sql.trim() === '') throw new FederationError('BAD_REQUEST', '"sql" must be a non-empty string');
    if (partial !== undefined && typeof partial !== 'boolean') throw new FederationError('BAD_REQUEST', '"partial" must be a boolean');
    if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !Number.isInteger(timeoutMs) || timeoutMs <= 0)) throw new FederationError('BAD_REQUEST', '"timeoutMs" must be a positive integer');
    if (typeof format !== 'string' || !FORMATS.has(format)) throw new FederationError('BAD_REQUEST', '"format" must be json, ndjson or csv');
    if (explain === true) return { plan: federator.explain(sql) };
    const res = await federator.query(sql, { partial: partial === true, timeoutMs: timeoutMs as number | undefined });
    metrics.observe(res);
    metrics.queries.inc({ status: '200', code: '' });
    if (format === 'json') return res;
    void reply.header('x-iov-partial', String(res.partial)).header('x-iov-clouds', cloudsHeader(res.clouds)).header('x-iov-ms', String(res.ms));
    if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(toCsv(res.columns, res.rows));
    return reply.type('application/x-ndjson').send(toNdjson(res.rows));
  });

  return app;
}
