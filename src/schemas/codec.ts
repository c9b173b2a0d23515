// Avro codecs in the Confluent wire format:
//   byte 0      magic byte 0x00
//   bytes 1-4   schema id, big-endian int32
//   bytes 5-    Avro binary body (no container header)
// With a Schema Registry the id is the registry's; without, the fixed ids in schemas/ids.json,
// so messages stay decodable by standard tooling once a registry is introduced.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';

export interface VehiclePacket {
  vehicleId: string;
  seq: number | null;
  ts: number;
  lat: number;
  lng: number;
  speedKmh: number | null;
  heading: number | null;
  extra: Record<string, string>;
}

export interface EnrichedPacket extends VehiclePacket {
  cell: string;
  segment: string;
  ownerSegment: string;
  crossing: boolean;
  prevSegment: string | null;
  ingestTs: number;
  gatewayId: string;
}

export const SCHEMA_DIR = fileURLToPath(new URL('../../schemas/', import.meta.url));

export function readSchema(name: 'vehicle-packet' | 'enriched-packet'): avro.Schema {
  return JSON.parse(readFileSync(`${SCHEMA_DIR}${name}.avsc`, 'utf8')) as avro.Schema;
}

export function fixedIds(): Record<string, number> {
  return JSON.parse(readFileSync(`${SCHEMA_DIR}ids.json`, 'utf8')) as Record<string, number>;
}

export class CodecError extends Error {
  constructor(readonly code: 'BAD_MAGIC' | 'UNKNOWN_SCHEMA' | 'BAD_AVRO', message: string) {
    super(message);
    this.name = 'CodecError';
  }
}

export interface Codec<T> {
  readonly schemaId: number;
  encode(value: T): Buffer;
  /** Throws CodecError on anything that is not a message of this schema. */
  decode(buf: Buffer): T;
}

/** Build a codec once (Avro type compiled at start-up) and use it for every message. */
export function createCodec<T>(schema: avro.Schema, schemaId: number): Codec<T> {
  const type = avro.Type.forSchema(schema);
  return {
    schemaId,
    encode(value: T): Buffer {
      const body = type.toBuffer(value);
      const out = Buffer.allocUnsafe(5 + body.length);
      out[0] = 0;
      out.writeInt32BE(schemaId, 1);
      body.copy(out, 5);
      return out;
    },
    decode(buf: Buffer): T {
      if (buf.length < 5 || buf[0] !== 0) throw new CodecError('BAD_MAGIC', 'not a Confluent-framed message (magic byte 0 missing)');
      const id = buf.readInt32BE(1);
      if (id !== schemaId) throw new CodecError('UNKNOWN_SCHEMA', `schema id ${id} is not ${schemaId}`);
      try {
        return type.fromBuffer(buf.subarray(5)) as T;
      } catch (err) {
        throw new CodecError('BAD_AVRO', `cannot decode Avro body: ${(err as Error).message}`);
      }
    },
  };
}

/** The enriched-packet codec with the fixed id (no registry). */
export function enrichedPacketCodec(): Codec<EnrichedPacket> {
  const schema = readSchema('enriched-packet');
  return createCodec<EnrichedPacket>(schema, fixedIds()['io.iov.pipeline.EnrichedPacket']!);
}

export function vehiclePacketCodec(): Codec<VehiclePacket> {
  return createCodec<VehiclePacket>(readSchema('vehicle-packet'), fixedIds()['io.iov.pipeline.VehiclePacket']!);
}
