import { describe, expect, it } from 'vitest';
import avro from 'avsc';
import { CodecError, enrichedPacketCodec, readSchema, vehiclePacketCodec, type EnrichedPacket } from '../../src/schemas/index.ts';

const pkt: EnrichedPacket = {
  vehicleId: 'SH-00042', seq: 17, ts: 1_795_300_000_123, lat: 31.2304, lng: 121.4737, speedKmh: 42.5, heading: 270,
  extra: { fuel: '0.61' }, cell: '8930994a64fffff', segment: 'central', ownerSegment: 'north', crossing: true,
  prevSegment: 'central', ingestTs: 1_795_300_000_200, gatewayId: 'gw-1',
};

describe('Avro codecs (Confluent wire format)', () => {
  it('frames with magic byte 0 and the fixed schema id, and round-trips', () => {
    const c = enrichedPacketCodec();
    const buf = c.encode(pkt);
    expect(buf[0]).toBe(0);
    expect(buf.readInt32BE(1)).toBe(1002);
    expect(c.decode(buf)).toEqual(pkt);
  });

  it('keeps the body decodable by a plain Avro reader of the .avsc file', () => {
    const body = enrichedPacketCodec().encode(pkt).subarray(5);
    expect(avro.Type.forSchema(readSchema('enriched-packet')).fromBuffer(body)).toEqual(pkt);
  });

  it('round-trips optional fields as null', () => {
    const c = enrichedPacketCodec();
    const p = { ...pkt, seq: null, speedKmh: null, heading: null, prevSegment: null, extra: {} };
    expect(c.decode(c.encode(p))).toEqual(p);
  });

  it('refuses foreign bytes with stable codes', () => {
    const c = enrichedPacketCodec();
    const cases: [Buffer, string][] = [
      [Buffer.from('hello world'), 'BAD_MAGIC'],
      [vehiclePacketCodec().encode({ vehicleId: 'v', seq: null, ts: 1, lat: 0, lng: 0, speedKmh: null, heading: null, extra: {} }), 'UNKNOWN_SCHEMA'],
      [Buffer.concat([Buffer.from([0, 0, 0, 0x03, 0xea]), Buffer.from([0xff, 0xff])]), 'BAD_AVRO'],
    ];
    for (const [buf, code] of cases) {
      const err = (() => { try { c.decode(buf); } catch (e) { return e; } return undefined; })();
      expect(err).toBeInstanceOf(CodecError);
      expect((err as CodecError).code).toBe(code);
    }
  });
});
