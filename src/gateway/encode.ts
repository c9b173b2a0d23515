// Avro encoding of EnrichedPackets for the hot path, byte for byte the codec of
// src/schemas (Confluent framing: magic 0, schema id big-endian, Avro body), but written
// into a shared slab: each message is a view (subarray) of the slab instead of two fresh
// buffers and a copy per packet (avsc's toBuffer allocates and copies, the framing copies
// again). A slab is never written twice: when it is full a new one is started, and the old
// one is freed once every message viewing it has been produced and dropped.
import avro from 'avsc';
import { fixedIds, readSchema, type EnrichedPacket } from '../schemas/index.ts';

export type PacketEncoder = (p: EnrichedPacket) => Buffer;

/** `schemaId`: the Schema Registry's id of the EnrichedPacket schema, when one is configured. */
export function createPacketEncoder(slabBytes = 256 * 1024, schemaId = fixedIds()['io.iov.pipeline.EnrichedPacket']!): PacketEncoder {
  const type = avro.Type.forSchema(readSchema('enriched-packet'));
  let slab = Buffer.allocUnsafe(slabBytes);
  let pos = 0;
  return (p) => {
    for (;;) {
      const end = slab.length - pos > 5 ? type.encode(p, slab, pos + 5) : -1;
      if (end > 0) {
        slab[pos] = 0;
        slab.writeInt32BE(schemaId, pos + 1);
        const out = slab.subarray(pos, end);
        pos = end;
        return out;
      }
      // Not enough room left: a fresh slab, large enough for this packet in any case.
      slab = Buffer.allocUnsafe(Math.max(slabBytes, 2 * (5 - end)));
      pos = 0;
    }
  };
}
