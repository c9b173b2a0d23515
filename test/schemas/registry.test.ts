// The Schema Registry in the data path, against the in-test registry peer (registry-peer.ts,
// a labelled fixture) through @kafkajs/confluent-schema-registry: the gateway writes the
// registry's ids, standard tooling decodes its messages, a v2 schema with an added optional
// field is accepted (BACKWARD) and read by the v1 decoder of the segment workers, a breaking
// change is refused at start-up with SCHEMA_INCOMPATIBLE.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import avro from 'avsc';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { createMemoryBus, type Bus, type ProduceRecord } from '../../src/bus/index.ts';
import { processBatch, type BatchTask } from '../../src/flow/index.ts';
import { createGateway } from '../../src/gateway/index.ts';
import {
  connectSchemaRegistry, createCodec, PACKET_SUBJECTS, readSchema, registerPacketSchemas, SchemaRegistryError, writerSchemasFor,
  type EnrichedPacket,
} from '../../src/schemas/index.ts';
import { createMemoryState } from '../../src/state/index.ts';
import { loadTopology } from '../../src/topology/index.ts';
import { startRegistryPeer, type RegistryPeer } from './registry-peer.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const SHANGHAI = join(ROOT, 'infra/topology/shanghai.yaml');
type RecordSchema = { type: 'record'; name: string; namespace: string; fields: { name: string; type: unknown; default?: unknown }[] };
const v1 = readSchema('enriched-packet') as unknown as RecordSchema;
/** v2: an added optional field (BACKWARD-compatible). */
const v2: RecordSchema = { ...v1, fields: [...v1.fields, { name: 'batteryPct', type: ['null', 'float'], default: null }] };

const pkt: EnrichedPacket = {
  vehicleId: 'SH-7', seq: 3, ts: Date.UTC(2026, 11, 7, 12, 0, 30), lat: 31.23, lng: 121.47, speedKmh: 40, heading: 90, extra: {},
  cell: '8930994a64fffff', segment: 'central', ownerSegment: 'central', crossing: false, prevSegment: null, ingestTs: 1, gatewayId: 'gw',
};

/** Framed messages as one BatchTask of segment "central". */
function task(msgs: Buffer[], writerSchemas?: Record<number, string>): BatchTask {
  const data = Buffer.concat(msgs);
  const ends = new Uint32Array(msgs.length);
  let end = 0;
  msgs.forEach((m, i) => (ends[i] = end += m.length));
  return {
    segment: 'central', partition: 0, rules: { windowS: 60, allowedLatenessMs: 1000 }, data, ends,
    offsets: Float64Array.from(msgs, (_, i) => i), wm: -Infinity, skipWindows: [], packetsFrom: 0,
    ...(writerSchemas ? { writerSchemas } : {}),
  };
}

describe('Schema Registry (in-test registry peer)', () => {
  let peer: RegistryPeer;
  beforeAll(async () => {
    peer = await startRegistryPeer();
  });
  afterAll(async () => {
    await peer?.close();
  });

  it('registers both packet schemas at start-up (BACKWARD), finds them again with the same ids', async () => {
    const registry = connectSchemaRegistry(peer.url);
    const ids = await registerPacketSchemas(registry);
    expect(ids.vehiclePacket).not.toBe(ids.enrichedPacket);
    expect(await registerPacketSchemas(connectSchemaRegistry(peer.url))).toEqual(ids);
    const subjects = await (await fetch(`${peer.url}/subjects`)).json();
    expect(subjects).toEqual([PACKET_SUBJECTS.vehiclePacket, PACKET_SUBJECTS.enrichedPacket]);
    const cfg = await (await fetch(`${peer.url}/config/${PACKET_SUBJECTS.enrichedPacket}`)).json();
    expect(cfg).toEqual({ compatibilityLevel: 'BACKWARD' });
  });

  it("the gateway writes the registry's id; standard tooling decodes its messages", async () => {
    const ids = await registerPacketSchemas(connectSchemaRegistry(peer.url));
    const mem = createMemoryBus();
    const produced: ProduceRecord[] = [];
    const bus: Bus = { ...mem, produce: async (records) => { produced.push(...records); await mem.produce(records); } };
    const gw = createGateway({ topology: loadTopology(SHANGHAI), bus, state: createMemoryState(), logger: pino({ level: 'silent' }), config: { rateLimit: null }, schemaId: ids.enrichedPacket });
    try {
      const res = await gw.ingest([{ vehicleId: 'reg-1', seq: 1, ts: Date.now() - 1000, lat: 31.23, lng: 121.47, speedKmh: 33 }], { gatewayId: 'gw-r' });
      expect(res.accepted).toBe(1);
    } finally {
      await gw.close();
    }
    expect(produced).toHaveLength(1);
    const value = produced[0]!.value as Buffer;
    expect([value[0], value.readInt32BE(1)]).toEqual([0, ids.enrichedPacket]);
    const decoded = await new SchemaRegistry({ host: peer.url }).decode(value);
    expect(decoded).toMatchObject({ vehicleId: 'reg-1', seq: 1, gatewayId: 'gw-r', crossing: false });
  });

  it('accepts a v2 with an added optional field; v1 segment workers read v2 messages, the writer schema fetched once', async () => {
    const registry = connectSchemaRegistry(peer.url);
    const ids = await registerPacketSchemas(registry);
    const v2id = await registry.register(PACKET_SUBJECTS.enrichedPacket, v2 as unknown as avro.Schema);
    expect(v2id).not.toBe(ids.enrichedPacket);
    const versions = await (await fetch(`${peer.url}/subjects/${PACKET_SUBJECTS.enrichedPacket}/versions`)).json();
    expect(versions).toEqual([1, 2]);

    const m1 = createCodec<EnrichedPacket>(v1 as unknown as avro.Schema, ids.enrichedPacket).encode(pkt);
    const m2 = createCodec<EnrichedPacket & { batteryPct: number | null }>(v2 as unknown as avro.Schema, v2id).encode({ ...pkt, seq: 4, vehicleId: 'SH-8', batteryPct: 81.5 });
    const batch = task([m1, m2]);

    // Without the registry neither is decodable (dead letters): the reader knows only the
    // fixed id of schemas/ids.json, and the registry's ids are others.
    const blind = processBatch(task([m1, m2]));
    expect(blind.owned).toBe(0);
    expect(blind.poison.map((p) => p.code)).toEqual(['UNKNOWN_SCHEMA', 'UNKNOWN_SCHEMA']);

    // The consumer's client (fresh cache) resolves the unknown id once, then from its cache.
    const consumer = connectSchemaRegistry(peer.url);
    const before = peer.requests.get('GET /schemas/ids/:id') ?? 0;
    const writers = await writerSchemasFor(consumer, batch.data, batch.ends, (id) => id === ids.enrichedPacket);
    expect(Object.keys(writers).map(Number)).toEqual([v2id]);
    await writerSchemasFor(consumer, batch.data, batch.ends, (id) => id === ids.enrichedPacket);
    expect((peer.requests.get('GET /schemas/ids/:id') ?? 0) - before).toBe(1);

    // The built-in reader has the registry's v1 id as a writer too (registered = same schema).
    const all = { ...writers, ...(await writerSchemasFor(consumer, batch.data, batch.ends, () => false)) };
    const read = processBatch({ ...batch, writerSchemas: all });
    expect(read.poison).toEqual([]);
    expect(read.owned).toBe(2);
    const cells = read.cells ?? [];
    expect(JSON.stringify(cells)).toContain('"packets":2');
  });

  it('refuses a breaking change at start-up with SCHEMA_INCOMPATIBLE, and registers nothing', async () => {
    const registry = connectSchemaRegistry(peer.url);
    await registerPacketSchemas(registry);
    const versionsBefore = await (await fetch(`${peer.url}/subjects/${PACKET_SUBJECTS.enrichedPacket}/versions`)).json();
    // A new required field: a v-new reader cannot read what the latest version wrote.
    const required: RecordSchema = { ...v2, fields: [...v2.fields, { name: 'driverId', type: 'string' }] };
    // A changed type.
    const retyped: RecordSchema = { ...v1, fields: v1.fields.map((f) => (f.name === 'lat' ? { ...f, type: 'string' } : f)) };
    for (const bad of [required, retyped]) {
      const err = await registerPacketSchemas(connectSchemaRegistry(peer.url), { enrichedPacket: bad as unknown as avro.Schema }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SchemaRegistryError);
      expect(err).toMatchObject({ code: 'SCHEMA_INCOMPATIBLE', retriable: false });
      expect((err as Error).message).toMatch(new RegExp(`^schema of subject ${PACKET_SUBJECTS.enrichedPacket.replace(/\./g, '\\.')} is not BACKWARD-compatible with its latest registered version v\\d+: `));
    }
    expect(await (await fetch(`${peer.url}/subjects/${PACKET_SUBJECTS.enrichedPacket}/versions`)).json()).toEqual(versionsBefore);
  });

  it('`iov gateway` with a topology naming the registry refuses to start on an incompatible subject', async () => {
    // The registry's latest EnrichedPacket lacks gatewayId (registered while the subject was
    // at NONE): the project's schema cannot read what it wrote.
    const subject = PACKET_SUBJECTS.enrichedPacket;
    const put = (level: string) => fetch(`${peer.url}/config/${subject}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ compatibility: level }) });
    await put('NONE');
    const without: RecordSchema = { ...v1, fields: v1.fields.filter((f) => f.name !== 'gatewayId') };
    const reg = await fetch(`${peer.url}/subjects/${subject}/versions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ schema: JSON.stringify(without) }) });
    expect(reg.status).toBe(200);
    await put('BACKWARD');
    const dir = mkdtempSync(join(tmpdir(), 'iov-registry-'));
    try {
      const topo = join(dir, 'topology.yaml');
      writeFileSync(topo, readFileSync(SHANGHAI, 'utf8').replace(
        /- id: cloud-ingest\n\s+roles: \[ingest\]/,
        `- id: cloud-ingest\n    roles: [ingest]\n    kafka: { brokers: ['127.0.0.1:1'], schemaRegistry: '${peer.url}' }\n    redis: { url: 'redis://127.0.0.1:1' }`,
      ));
      // Asynchronously: the registry peer answers from this process.
      const child = spawn(process.execPath, [join(ROOT, 'bin/iov.mjs'), 'gateway', '--topology', topo, '--port', '0'], { cwd: ROOT, env: { ...process.env, IOV_LOG_LEVEL: 'silent' } });
      const r = { status: -1 as number | null, stderr: '' };
      child.stderr.on('data', (d: Buffer) => (r.stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      r.status = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      clearTimeout(timer);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^iov: \\[SCHEMA_INCOMPATIBLE\\] schema of subject ${subject.replace(/\./g, '\\.')} is not BACKWARD-compatible with its latest registered version v\\d+: `));
      expect(r.stderr).toContain('gatewayId');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says which registry did not answer', async () => {
    const dead = connectSchemaRegistry('http://127.0.0.1:1', { retries: 0 });
    await expect(registerPacketSchemas(dead)).rejects.toMatchObject({ code: 'SCHEMA_REGISTRY_UNAVAILABLE', retriable: true, message: expect.stringMatching(/^Schema Registry http:\/\/127\.0\.0\.1:1 did not answer: /) });
  });
});
