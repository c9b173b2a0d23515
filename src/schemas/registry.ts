// The Schema Registry in the data path (DESIGN.md §2, §13; docs/schemas.md), through
// @kafkajs/confluent-schema-registry.
//
// Producer side, at start-up: each packet schema of schemas/ is checked against the latest
// version of its subject (record name strategy: subject = the record's full name, e.g.
// io.iov.pipeline.EnrichedPacket, one subject for every segment topic) for BACKWARD
// compatibility, then registered (or found: same schema, same id), and the registry's id is
// what the encoders write in the Confluent framing. A breaking change stops the start-up
// with SCHEMA_INCOMPATIBLE; nothing is produced under an id the registry refused.
//
// Consumer side: messages carry their writer's id. The decoder keeps one Avro resolver per
// writer id (writer schema -> our reader schema, compiled once); an id it has not seen is
// looked up in the registry (cached, one request per id) before the batch is decoded, so a
// v2 writer with an added optional field is read by a v1 reader, the field ignored.
import avro from 'avsc';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { defineErrors } from '../errors.ts';
import { CodecError, fixedIds, readSchema, type Codec } from './codec.ts';

const schemaErrors = defineErrors('SchemaRegistryError', {
  SCHEMA_INCOMPATIBLE: { status: null, retriable: false, message: 'schema of subject %s is not %s-compatible with its latest registered version %s: %s' },
  SCHEMA_REGISTRY_UNAVAILABLE: { status: null, retriable: true, message: 'Schema Registry %s did not answer: %s' },
  SCHEMA_REGISTRY_REFUSED: { status: null, retriable: false, message: 'Schema Registry %s refused %s: %s' },
  SCHEMA_ID_UNKNOWN: { status: null, retriable: false, message: 'schema id %s is not in the Schema Registry %s' },
});

export const SCHEMA_ERRORS = schemaErrors.catalogue;
export type SchemaErrorCode = keyof typeof SCHEMA_ERRORS;
export class SchemaRegistryError extends schemaErrors.Base {}

/** The packet schemas the pipeline writes, by subject (record name strategy). */
export const PACKET_SUBJECTS = {
  vehiclePacket: 'io.iov.pipeline.VehiclePacket',
  enrichedPacket: 'io.iov.pipeline.EnrichedPacket',
} as const;

/** The compatibility every packet subject is kept at (docs/schemas.md). */
export const COMPATIBILITY = 'BACKWARD';

type RegistryCall = { status?: number; message?: string };

/** The registry client with the project's error codes and caches. */
export interface PacketSchemaRegistry {
  readonly url: string;
  /**
   * Check `schema` against the subject's latest version (BACKWARD), then register it (or find
   * it). Returns the registry's id. Throws SCHEMA_INCOMPATIBLE for a breaking change.
   */
  register(subject: string, schema: avro.Schema): Promise<number>;
  /** The writer schema of `id` (JSON text), from the registry once, then from the cache. */
  writerSchema(id: number): Promise<string>;
}

export function connectSchemaRegistry(url: string, opts: { retries?: number } = {}): PacketSchemaRegistry {
  const registry = new SchemaRegistry({ host: url, retry: { retries: opts.retries ?? 2, initialRetryTimeInSecs: 0.1 } });
  const schemas = new Map<number, Promise<string>>();
  // The client's HTTP layer reports network failures as status 400 with the socket error in
  // the message: those, timeouts and 5xx answers are unavailability (retriable); any other
  // answer is the registry refusing.
  const wrap = (what: string, err: unknown): SchemaRegistryError => {
    const status = (err as RegistryCall)?.status;
    const message = (err as Error)?.message ?? String(err);
    const down = typeof status !== 'number' || status >= 500 || /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|socket hang up|[Tt]imeout/.test(message);
    return down ? new SchemaRegistryError('SCHEMA_REGISTRY_UNAVAILABLE', [url, message], { cause: err }) : new SchemaRegistryError('SCHEMA_REGISTRY_REFUSED', [url, what, message], { cause: err });
  };
  // The client exposes the compatibility endpoint only through its API object.
  const api = (registry as unknown as { api: { Subject: { compatible(a: { subject: string; version: string; body: { schema: string } }): Promise<{ data(): { is_compatible: boolean; messages?: string[] } }>; latestVersion(a: { subject: string }): Promise<{ data(): { version: number } }> } } }).api;

  return {
    url,
    async register(subject, schema) {
      const text = JSON.stringify(schema);
      // BACKWARD: our schema (the reader) must read what the latest version (the writer) wrote.
      let latest: number | undefined;
      try {
        latest = (await api.Subject.latestVersion({ subject })).data().version;
      } catch (err) {
        if ((err as RegistryCall)?.status !== 404) throw wrap(`the latest version of ${subject}`, err);
      }
      if (latest !== undefined) {
        let verdict: { is_compatible: boolean; messages?: string[] };
        try {
          verdict = (await api.Subject.compatible({ subject, version: 'latest', body: { schema: text } })).data();
        } catch (err) {
          throw wrap(`the compatibility check of ${subject}`, err);
        }
        if (!verdict.is_compatible) {
          throw new SchemaRegistryError('SCHEMA_INCOMPATIBLE', [subject, COMPATIBILITY, `v${latest}`, verdict.messages?.join('; ') || 'the registry says so']);
        }
      }
      try {
        const { id } = await registry.register({ type: SchemaType.AVRO, schema: text }, { subject, compatibility: COMPATIBILITY as never });
        schemas.set(id, Promise.resolve(text));
        return id;
      } catch (err) {
        // A registry that checks itself answers 409 to an incompatible schema.
        if ((err as RegistryCall)?.status === 409) throw new SchemaRegistryError('SCHEMA_INCOMPATIBLE', [subject, COMPATIBILITY, 'latest', (err as Error).message], { cause: err });
        throw wrap(`the registration of ${subject}`, err);
      }
    },
    writerSchema(id) {
      let p = schemas.get(id);
      if (!p) {
        p = registry.getSchema(id).then(
          (s) => JSON.stringify((s as unknown as { schema(): avro.Schema }).schema?.() ?? s),
          (err: unknown) => {
            schemas.delete(id); // not cached: the next batch asks again
            throw (err as RegistryCall)?.status === 404 ? new SchemaRegistryError('SCHEMA_ID_UNKNOWN', [id, url], { cause: err }) : wrap(`schema id ${id}`, err);
          },
        );
        schemas.set(id, p);
      }
      return p;
    },
  };
}

/** Ids the pipeline writes: the registry's when one is configured, else the fixed ones. */
export interface PacketSchemaIds {
  vehiclePacket: number;
  enrichedPacket: number;
}

export function fixedPacketSchemaIds(): PacketSchemaIds {
  const ids = fixedIds();
  return { vehiclePacket: ids[PACKET_SUBJECTS.vehiclePacket]!, enrichedPacket: ids[PACKET_SUBJECTS.enrichedPacket]! };
}

/** Start-up of a producer: register (or find) both packet schemas; refuse a breaking change. */
export async function registerPacketSchemas(
  registry: PacketSchemaRegistry,
  schemas: { vehiclePacket?: avro.Schema; enrichedPacket?: avro.Schema } = {},
): Promise<PacketSchemaIds> {
  return {
    vehiclePacket: await registry.register(PACKET_SUBJECTS.vehiclePacket, schemas.vehiclePacket ?? readSchema('vehicle-packet')),
    enrichedPacket: await registry.register(PACKET_SUBJECTS.enrichedPacket, schemas.enrichedPacket ?? readSchema('enriched-packet')),
  };
}

/**
 * A decoder that reads messages written with any schema it has been told about (by id) into
 * the reader schema. The fixed id of the reader schema is known from the start.
 */
export interface ResolvingDecoder<T> extends Pick<Codec<T>, 'decode'> {
  /** Writer schemas (JSON text) by id; compiled once each, later calls for a known id are free. */
  learn(writers: Record<number, string>): void;
  knows(id: number): boolean;
}

export function createResolvingDecoder<T>(reader: avro.Schema, readerId: number): ResolvingDecoder<T> {
  const readerType = avro.Type.forSchema(reader);
  // id -> the reader type itself (same schema) or a resolver from that writer's schema.
  const resolvers = new Map<number, avro.Type | ReturnType<avro.Type['createResolver']>>();
  const readerText = JSON.stringify(readerType.schema());
  resolvers.set(readerId, readerType);
  return {
    learn(writers) {
      for (const [key, text] of Object.entries(writers)) {
        const id = Number(key);
        if (resolvers.has(id)) continue;
        const writer = avro.Type.forSchema(JSON.parse(text) as avro.Schema);
        resolvers.set(id, JSON.stringify(writer.schema()) === readerText ? readerType : readerType.createResolver(writer));
      }
    },
    knows: (id) => resolvers.has(id),
    decode(buf) {
      if (buf.length < 5 || buf[0] !== 0) throw new CodecError('BAD_MAGIC', 'not a Confluent-framed message (magic byte 0 missing)');
      const id = buf.readInt32BE(1);
      const r = resolvers.get(id);
      if (r === undefined) throw new CodecError('UNKNOWN_SCHEMA', `schema id ${id} is not ${readerId} nor a writer schema learnt from the registry`);
      try {
        return (r === readerType ? readerType.fromBuffer(buf.subarray(5)) : readerType.fromBuffer(buf.subarray(5), r as ReturnType<avro.Type['createResolver']>)) as T;
      } catch (err) {
        throw new CodecError('BAD_AVRO', `cannot decode Avro body: ${(err as Error).message}`);
      }
    },
  };
}

/**
 * Consumer side, main thread: the writer schemas a batch of framed messages needs beyond
 * what `known` says is known, fetched from the registry (cached). `data`/`ends` as in BatchTask.
 */
export async function writerSchemasFor(
  registry: PacketSchemaRegistry,
  data: Uint8Array,
  ends: ArrayLike<number>,
  known: (id: number) => boolean,
): Promise<Record<number, string>> {
  const want = new Set<number>();
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    const end = ends[i]!;
    if (end - start >= 5 && data[start] === 0) {
      const id = view.getInt32(start + 1);
      if (!known(id)) want.add(id);
    }
    start = end;
  }
  const out: Record<number, string> = {};
  for (const id of want) {
    try {
      out[id] = await registry.writerSchema(id);
    } catch (err) {
      // An id the registry does not know stays unknown: those messages go to the dead letters
      // with UNKNOWN_SCHEMA, like any undecodable message; unavailability is retried by the caller.
      if (!(err instanceof SchemaRegistryError && err.code === 'SCHEMA_ID_UNKNOWN')) throw err;
    }
  }
  return out;
}
