// The slab encoder must produce exactly the bytes of the schemas codec (consumers decode
// with it), including across slab boundaries, and never overwrite a message handed out.
import { describe, expect, it } from 'vitest';
import { createPacketEncoder } from '../../../src/gateway/encode.ts';
import { enrichedPacketCodec, type EnrichedPacket } from '../../../src/schemas/index.ts';
import { rng } from '../../helpers/index.ts';

function packet(r: () => number, i: number): EnrichedPacket {
  const extra: Record<string, string> = {};
  for (let k = 0; k < Math.floor(r() * 4); k++) extra[`k${k}`] = 'x'.repeat(Math.floor(r() * 300));
  return {
    vehicleId: `veh-${i}-${'v'.repeat(Math.floor(r() * 50))}`,
    seq: r() < 0.2 ? null : Math.floor(r() * 2 ** 40),
    ts: 1_795_300_000_000 + i,
    lat: 30 + r(),
    lng: 121 + r(),
    speedKmh: r() < 0.3 ? null : Math.round(r() * 1000) / 10,
    heading: r() < 0.3 ? null : Math.round(r() * 360),
    extra,
    cell: '8930e1d8c03ffff',
    segment: r() < 0.5 ? 'north' : 'central',
    ownerSegment: 'central',
    crossing: r() < 0.1,
    prevSegment: r() < 0.3 ? null : 'south',
    ingestTs: 1_795_300_000_500 + i,
    gatewayId: 'gw-1',
  };
}

describe('packet encoder', () => {
  it('matches the schemas codec byte for byte, across slab boundaries, without overwriting', () => {
    const codec = enrichedPacketCodec();
    const r = rng(7);
    const encode = createPacketEncoder(1024); // tiny slabs: many roll-overs, some packets > half a slab
    const packets = Array.from({ length: 500 }, (_, i) => packet(r, i));
    const out = packets.map((p) => encode(p));
    packets.forEach((p, i) => {
      expect(out[i]!.equals(codec.encode(p))).toBe(true);
      expect(codec.decode(out[i]!)).toEqual(codec.decode(codec.encode(p)));
      expect(codec.decode(out[i]!).vehicleId).toBe(p.vehicleId);
    });
  });

  it('handles a packet larger than a whole slab', () => {
    const codec = enrichedPacketCodec();
    const encode = createPacketEncoder(64);
    const p = packet(rng(1), 1);
    p.extra = { big: 'y'.repeat(256) };
    const a = encode(p);
    const b = encode({ ...p, vehicleId: 'other' });
    expect(a.equals(codec.encode(p))).toBe(true);
    expect(b.equals(codec.encode({ ...p, vehicleId: 'other' }))).toBe(true);
  });
});
