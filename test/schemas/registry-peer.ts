// TEST FIXTURE — NOT A SCHEMA REGISTRY. A small in-memory stand-in for a Confluent Schema
// Registry (no registry server can be installed here): just the REST endpoints
// @kafkajs/confluent-schema-registry and src/schemas/registry.ts call, with the registry's
// answers and error codes as documented by Confluent:
//   GET  /subjects                                    names
//   GET  /subjects/:s/versions                        [1, 2, …]              40401
//   GET  /subjects/:s/versions/:v|latest              {subject,version,id,schema}  40401/40402
//   POST /subjects/:s/versions {schema}               {id}  (same schema → same id;
//                                                     409 if not compatible with the latest)
//   POST /subjects/:s {schema}                        lookup {subject,version,id,schema}  40401/40403
//   GET  /schemas/ids/:id                             {schema}                40403
//   POST /compatibility/subjects/:s/versions/:v|latest {schema}  {is_compatible, messages}
//   GET  /config, GET|PUT /config/:s                  {compatibilityLevel} / {compatibility}  40408
// Compatibility is decided with avsc's schema resolution (the reader must resolve the
// writer): BACKWARD = new reads latest, FORWARD = latest reads new, FULL = both, NONE.
// `requests` counts calls per route, so tests can see the clients' caches at work.
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import avro from 'avsc';

type Level = 'BACKWARD' | 'FORWARD' | 'FULL' | 'NONE';

export interface RegistryPeer {
  url: string;
  requests: Map<string, number>;
  close(): Promise<void>;
}

const canonical = (text: string) => JSON.stringify(avro.Type.forSchema(JSON.parse(text) as avro.Schema).schema());

function resolves(reader: string, writer: string): string | undefined {
  try {
    avro.Type.forSchema(JSON.parse(reader) as avro.Schema).createResolver(avro.Type.forSchema(JSON.parse(writer) as avro.Schema));
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function incompatibility(level: Level, candidate: string, latest: string): string | undefined {
  if (level === 'NONE') return undefined;
  const back = level === 'BACKWARD' || level === 'FULL' ? resolves(candidate, latest) : undefined;
  const fwd = level === 'FORWARD' || level === 'FULL' ? resolves(latest, candidate) : undefined;
  return back ?? fwd;
}

export async function startRegistryPeer(): Promise<RegistryPeer> {
  const app: FastifyInstance = Fastify();
  const ids = new Map<string, number>(); // canonical schema -> id (global, like the real one)
  const texts = new Map<number, string>();
  const subjects = new Map<string, number[]>(); // subject -> ids by version
  const config = new Map<string, Level>();
  let globalLevel: Level = 'BACKWARD';
  let nextId = 1;
  const requests = new Map<string, number>();

  for (const type of ['application/vnd.schemaregistry.v1+json', 'application/vnd.schemaregistry+json', 'application/json']) {
    app.addContentTypeParser(type, { parseAs: 'string' }, (_req, body, done) => {
      try {
        done(null, body === '' ? {} : JSON.parse(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
  }
  app.addHook('onRequest', async (req) => {
    const key = `${req.method} ${req.routeOptions.url ?? req.url}`;
    requests.set(key, (requests.get(key) ?? 0) + 1);
  });
  const fail = (reply: FastifyReply, status: number, code: number, message: string) =>
    reply.code(status).header('content-type', 'application/vnd.schemaregistry.v1+json').send({ error_code: code, message });
  const version = (s: string, v: string): { version: number; id: number } | undefined => {
    const list = subjects.get(s)!;
    const n = v === 'latest' ? list.length : Number(v);
    const id = list[n - 1];
    return id === undefined ? undefined : { version: n, id };
  };
  const levelOf = (s: string) => config.get(s) ?? globalLevel;

  app.get('/subjects', async () => [...subjects.keys()]);
  app.get<{ Params: { s: string } }>('/subjects/:s/versions', async (req, reply) =>
    subjects.has(req.params.s) ? subjects.get(req.params.s)!.map((_, i) => i + 1) : fail(reply, 404, 40401, `Subject '${req.params.s}' not found.`));
  app.get<{ Params: { s: string; v: string } }>('/subjects/:s/versions/:v', async (req, reply) => {
    const { s, v } = req.params;
    if (!subjects.has(s)) return fail(reply, 404, 40401, `Subject '${s}' not found.`);
    const hit = version(s, v);
    if (!hit) return fail(reply, 404, 40402, `Version ${v} not found.`);
    return { subject: s, version: hit.version, id: hit.id, schema: texts.get(hit.id) };
  });
  app.post<{ Params: { s: string }; Body: { schema: string } }>('/subjects/:s/versions', async (req, reply) => {
    const { s } = req.params;
    const text = req.body.schema;
    let key: string;
    try {
      key = canonical(text);
    } catch (err) {
      return fail(reply, 422, 42201, `Invalid schema: ${(err as Error).message}`);
    }
    const list = subjects.get(s) ?? [];
    const known = ids.get(key);
    if (known !== undefined && list.includes(known)) return { id: known };
    if (list.length > 0) {
      const why = incompatibility(levelOf(s), text, texts.get(list[list.length - 1]!)!);
      if (why) return fail(reply, 409, 409, `Schema being registered is incompatible with an earlier schema for subject "${s}": ${why}`);
    }
    const id = known ?? nextId++;
    ids.set(key, id);
    texts.set(id, text);
    subjects.set(s, [...list, id]);
    return { id };
  });
  app.post<{ Params: { s: string }; Body: { schema: string } }>('/subjects/:s', async (req, reply) => {
    const { s } = req.params;
    if (!subjects.has(s)) return fail(reply, 404, 40401, `Subject '${s}' not found.`);
    const id = ids.get(canonical(req.body.schema));
    const list = subjects.get(s)!;
    const at = id === undefined ? -1 : list.indexOf(id);
    if (at < 0) return fail(reply, 404, 40403, 'Schema not found');
    return { subject: s, version: at + 1, id, schema: texts.get(id!) };
  });
  app.get<{ Params: { id: string } }>('/schemas/ids/:id', async (req, reply) => {
    const text = texts.get(Number(req.params.id));
    return text === undefined ? fail(reply, 404, 40403, 'Schema not found') : { schema: text };
  });
  app.post<{ Params: { s: string; v: string }; Body: { schema: string } }>('/compatibility/subjects/:s/versions/:v', async (req, reply) => {
    const { s, v } = req.params;
    if (!subjects.has(s)) return fail(reply, 404, 40401, `Subject '${s}' not found.`);
    const hit = version(s, v);
    if (!hit) return fail(reply, 404, 40402, `Version ${v} not found.`);
    const why = incompatibility(levelOf(s), req.body.schema, texts.get(hit.id)!);
    return why ? { is_compatible: false, messages: [why] } : { is_compatible: true };
  });
  app.get('/config', async () => ({ compatibilityLevel: globalLevel }));
  app.put<{ Body: { compatibility: Level } }>('/config', async (req) => {
    globalLevel = req.body.compatibility;
    return { compatibility: globalLevel };
  });
  app.get<{ Params: { s: string } }>('/config/:s', async (req, reply) =>
    config.has(req.params.s) ? { compatibilityLevel: config.get(req.params.s) } : fail(reply, 404, 40408, `Subject '${req.params.s}' does not have subject-level compatibility configured`));
  app.put<{ Params: { s: string }; Body: { compatibility: Level } }>('/config/:s', async (req) => {
    config.set(req.params.s, req.body.compatibility);
    return { compatibility: req.body.compatibility };
  });

  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, requests, close: () => app.close() };
}
