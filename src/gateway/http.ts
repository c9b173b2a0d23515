// The HTTP surface: POST /v1/packets, /healthz, /readyz, /metrics (Fastify + pino).
// Every error answer has the same shape { statusCode, code, message } with a code from
// errors.ts; Fastify's own errors (body limit, media type) are mapped into that catalogue.
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Bus } from '../bus/index.ts';
import type { VehicleState } from '../state/index.ts';
import { segmentTopic, type Topology } from '../topology/index.ts';
import { createAuthenticator, createRateLimiter, presentedKey } from './auth.ts';
import type { GatewayConfig } from './config.ts';
import { allRejectedMessage, GatewayError, type RequestErrorCode } from './errors.ts';
import type { IngestCore, IngestResult } from './ingest.ts';
import type { GatewayMetrics } from './metrics.ts';
import { parseJsonBody, parseNdjsonBody } from './parse.ts';

declare module 'fastify' {
  interface FastifyRequest {
    iovGatewayId: string;
  }
}

export interface HttpDeps {
  topology: Topology;
  bus: Bus;
  state: VehicleState;
  config: GatewayConfig;
  metrics: GatewayMetrics;
  logger: Logger;
  core: IngestCore;
  now: () => number;
}

interface ErrorBody {
  statusCode: number;
  code: RequestErrorCode;
  message: string;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export function buildApp(deps: HttpDeps): FastifyInstance {
  const { config, metrics, core, logger, now } = deps;
  const app = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    bodyLimit: config.maxBodyBytes,
    // Per-request access logs cost more than the ingest itself at 100k packets/s; errors
    // and state changes are logged, request counts are in /metrics.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });
  const auth = createAuthenticator(config.apiKeys, config.defaultGatewayId);
  const limiter = config.rateLimit ? createRateLimiter(config.rateLimit) : undefined;

  const sendError = (reply: FastifyReply, err: GatewayError) => {
    if (err.retryAfterSec !== undefined) reply.header('retry-after', String(err.retryAfterSec));
    if (err.code === 'UNAUTHORIZED') reply.header('www-authenticate', 'Bearer realm="iov-gateway"');
    metrics.requests.inc({ status: String(err.statusCode), code: err.code });
    const body: ErrorBody = { statusCode: err.statusCode, code: err.code, message: err.message };
    return reply.code(err.statusCode).send(body);
  };

  // "Expect: 100-continue": Node answers 100 Continue by itself unless the server handles
  // 'checkContinue'. A body declared over the limit is refused before it is invited (413 and
  // close): a client still uploading would otherwise lose the 413 to a broken pipe (#17).
  app.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const declared = Number(req.headers['content-length']);
    if (declared > config.maxBodyBytes) {
      const err = new GatewayError('BODY_TOO_LARGE', [config.maxBodyBytes]);
      metrics.requests.inc({ status: String(err.statusCode), code: err.code });
      const text = JSON.stringify({ statusCode: err.statusCode, code: err.code, message: err.message } satisfies ErrorBody);
      res.writeHead(err.statusCode, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), connection: 'close' });
      res.end(text);
      return;
    }
    res.writeContinue();
    app.server.emit('request', req, res);
  });

  app.decorateRequest('iovGatewayId', '');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseJsonBody(body as string, config.maxPacketsPerRequest));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, parseNdjsonBody(body as string, config.maxPacketsPerRequest));
    } catch (err) {
      done(err as Error, undefined);
    }
  });

  app.setErrorHandler((err: FastifyError | GatewayError, req, reply) => {
    if (err instanceof GatewayError) {
      if (err.statusCode >= 500) req.log.warn({ code: err.code, err: err.message }, 'gateway: request refused');
      return sendError(reply, err);
    }
    switch (err.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return sendError(reply, new GatewayError('BODY_TOO_LARGE', [config.maxBodyBytes]));
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      case 'FST_ERR_CTP_INVALID_TYPE':
        return sendError(reply, new GatewayError('UNSUPPORTED_MEDIA_TYPE', [req.headers['content-type'] ?? '(none)']));
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendError(reply, new GatewayError('EMPTY_BODY'));
      default:
        break;
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, new GatewayError('BAD_REQUEST', [err.message]));
    }
    req.log.error({ err }, 'gateway: internal error');
    return sendError(reply, new GatewayError('INTERNAL', [err.message]));
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, new GatewayError('NOT_FOUND', [req.method, req.url.split('?')[0]])));

  // Authentication and rate limit run before the body is read: a refused client costs no parsing.
  const guard = async (req: FastifyRequest, reply: FastifyReply) => {
    const a = auth.authenticate(presentedKey(req.headers));
    if (!a.ok) return sendError(reply, new GatewayError(a.code));
    req.iovGatewayId = a.gatewayId;
    if (limiter) {
      const wait = limiter.take(a.gatewayId, now());
      if (wait > 0) return sendError(reply, new GatewayError('RATE_LIMITED', [config.rateLimit!.requestsPerSec, config.rateLimit!.burst, a.gatewayId], wait));
    }
    return undefined;
  };

  // Not an async function, and the body is taken off the request: nothing keeps the parsed
  // items alive while the request waits for Redis and Kafka (see ingest.ts).
  app.post('/v1/packets', { onRequest: guard }, (req, reply) => {
    const items = req.body as unknown[] | undefined;
    req.body = undefined;
    if (items === undefined || items === null) throw new GatewayError('EMPTY_BODY');
    return core.ingest(items, { gatewayId: req.iovGatewayId }).then((res) => answer(reply, res));
  });
  const answer = (reply: FastifyReply, res: IngestResult) => {
    if (res.accepted + res.duplicates === 0) {
      metrics.requests.inc({ status: '422', code: 'ALL_REJECTED' });
      return reply.code(422).send({ statusCode: 422, code: 'ALL_REJECTED', message: allRejectedMessage(res.rejected), ...res });
    }
    metrics.requests.inc({ status: '200', code: '' });
    return reply.code(200).send(res);
  };

  app.get('/healthz', async () => ({ status: 'ok' }));

  // Readiness = both dependencies answer now. The Kafka probe is a metadata request for the
  // first segment topic (the Bus has no ping); each probe has its own timeout.
  const probeTopic = segmentTopic(deps.topology.segments[0]!.id);
  // An open circuit answers for its dependency without probing it (the gateway refuses
  // ingest requests anyway); half-open or closed, the dependency is probed.
  const { kafka: kafkaBreaker, redis: redisBreaker } = core.breakers;
  const circuitOpen = (b: typeof kafkaBreaker) => (b.state() === 'open' ? `circuit open (${Math.ceil(b.remainingMs())} ms left) after: ${b.lastError()}` : undefined);
  app.get('/readyz', async (_req, reply) => {
    const kOpen = circuitOpen(kafkaBreaker);
    const rOpen = circuitOpen(redisBreaker);
    const [kafka, redis] = await Promise.all([
      kOpen ?? withTimeout(deps.bus.partitionCount(probeTopic), config.readyTimeoutMs, 'Kafka').then(() => 'ok', (e: Error) => e.message),
      rOpen ?? withTimeout(deps.state.ping(), config.readyTimeoutMs, 'Redis').then(() => 'ok', (e: Error) => e.message),
    ]);
    const ready = kafka === 'ok' && redis === 'ok';
    if (!ready) {
      const wait = Math.max(kafkaBreaker.remainingMs(), redisBreaker.remainingMs());
      reply.header('retry-after', String(Math.max(config.retryAfterSec, Math.ceil(wait / 1000))));
    }
    const circuits = { kafka: kafkaBreaker.state(), redis: redisBreaker.state() };
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', kafka, redis, circuits });
  });

  app.get('/metrics', async (_req, reply) => {
    metrics.inflightBytes.set(core.outstandingBytes());
    const sv = { closed: 0, open: 1, 'half-open': 2 } as const;
    metrics.circuitState.set({ dependency: 'kafka' }, sv[kafkaBreaker.state()]);
    metrics.circuitState.set({ dependency: 'redis' }, sv[redisBreaker.state()]);
    const text = await metrics.registry.metrics();
    return reply.header('content-type', metrics.registry.contentType).send(text);
  });

  return app;
}
