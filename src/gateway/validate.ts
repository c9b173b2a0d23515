// Packet validation, built once per gateway (limits closed over) and run per packet with no
// allocation beyond the output object: a hand-written checker is several times faster than a
// generic schema interpreter on this hot path, and it gives every field its own stable code.
// Checks run in a fixed order (vehicleId, ts, lat, lng, seq, speedKmh, heading, extra) and
// the first failure is reported, so the same bad packet always gets the same code.
import type { EnrichedPacket } from '../schemas/index.ts';
import type { GatewayConfig } from './config.ts';
import { duration, kindOf, packetError, show, showVehicleId, type PacketRejection } from './errors.ts';

const VEHICLE_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const EXTRA_KEY_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
// Avro `long` holds any safe integer; beyond 2^53 JSON numbers lose precision anyway.
const MAX_SEQ = Number.MAX_SAFE_INTEGER;
/**
 * A too-old ts gets the "epoch seconds?" hint only when, read as seconds, it is within a year
 * of the gateway clock: a millisecond value a year old is just old.
 */
const SECONDS_HINT_WINDOW_MS = 366 * 86_400_000;
// Most packets carry no `extra`: they all share this frozen empty map (a prototype-less
// object per packet was one of the larger allocations of the hot path). Nothing downstream
// writes to a packet's extra.
const NO_EXTRA: Record<string, string> = Object.freeze(Object.create(null) as Record<string, string>);

/**
 * A valid packet as the ingest core carries it: the client's fields plus every field the
 * ingest path adds (enrichment, the dedup key), all declared by the validator with
 * placeholders, so every packet has one hidden class with all fields in-object. Filling
 * them in later used to allocate a property store per packet; and the packet itself is the
 * Observation handed to the state store (no wrapper object per packet).
 */
export interface IngestPacket extends EnrichedPacket {
  /** Dedup identity within the vehicle: `s<seq>`, or `t<ts>` when seq is absent. */
  dedupKey: string;
}

export interface Rejected {
  ok: false;
  error: PacketRejection;
}

/** The packet, or why it was rejected (`'error' in v`). */
export type Validated = IngestPacket | Rejected;

export type PacketValidator = (item: unknown, index: number, now: number) => Validated;

type Limits = Pick<GatewayConfig, 'maxFutureSkewMs' | 'maxAgeMs' | 'maxExtraFields' | 'maxExtraValueChars'>;

export function compileValidator(limits: Limits): PacketValidator {
  const { maxFutureSkewMs, maxAgeMs, maxExtraFields, maxExtraValueChars } = limits;
  const fail = (index: number, code: Parameters<typeof packetError>[1], ...args: unknown[]): Rejected => ({ ok: false, error: packetError(index, code, ...args) });
  const skewText = duration(maxFutureSkewMs);
  const ageText = duration(maxAgeMs);
  const optionalNumber = (v: unknown): v is number | null | undefined => v === undefined || v === null || typeof v === 'number';

  return (item, index, now) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) return fail(index, 'NOT_AN_OBJECT', kindOf(item));
    const o = item as Record<string, unknown>;

    const vehicleId = o.vehicleId;
    if (vehicleId === undefined || vehicleId === null) return fail(index, 'MISSING_FIELD', 'vehicleId');
    if (typeof vehicleId !== 'string') return fail(index, 'INVALID_TYPE', 'vehicleId', 'string', kindOf(vehicleId));
    if (!VEHICLE_ID_RE.test(vehicleId)) return fail(index, 'INVALID_VEHICLE_ID', showVehicleId(vehicleId));

    const ts = o.ts;
    if (ts === undefined || ts === null) return fail(index, 'MISSING_FIELD', 'ts');
    if (typeof ts !== 'number') return fail(index, 'INVALID_TYPE', 'ts', 'number', kindOf(ts));
    if (!Number.isSafeInteger(ts) || ts < 0) return fail(index, 'INVALID_TS', ts);
    if (ts > now + maxFutureSkewMs) return fail(index, 'TS_IN_FUTURE', ts, skewText);
    if (ts < now - maxAgeMs) return fail(index, 'TS_TOO_OLD', ts, ageText, Math.abs(ts * 1000 - now) <= SECONDS_HINT_WINDOW_MS ? ' (epoch seconds instead of milliseconds?)' : '');

    const lat = o.lat;
    if (lat === undefined || lat === null) return fail(index, 'MISSING_FIELD', 'lat');
    if (typeof lat !== 'number') return fail(index, 'INVALID_TYPE', 'lat', 'number', kindOf(lat));
    // NaN fails both comparisons, ±Infinity fails one: no separate isFinite needed.
    if (!(lat >= -90 && lat <= 90)) return fail(index, 'INVALID_LAT', lat);

    const lng = o.lng;
    if (lng === undefined || lng === null) return fail(index, 'MISSING_FIELD', 'lng');
    if (typeof lng !== 'number') return fail(index, 'INVALID_TYPE', 'lng', 'number', kindOf(lng));
    if (!(lng >= -180 && lng <= 180)) return fail(index, 'INVALID_LNG', lng);

    const seq = o.seq;
    if (!optionalNumber(seq)) return fail(index, 'INVALID_TYPE', 'seq', 'number', kindOf(seq));
    if (typeof seq === 'number' && !(Number.isSafeInteger(seq) && seq >= 0 && seq <= MAX_SEQ)) return fail(index, 'INVALID_SEQ', seq);

    const speed = o.speedKmh;
    if (!optionalNumber(speed)) return fail(index, 'INVALID_TYPE', 'speedKmh', 'number', kindOf(speed));
    if (typeof speed === 'number' && !(speed >= 0 && speed <= 400)) return fail(index, 'INVALID_SPEED', speed);

    const heading = o.heading;
    if (!optionalNumber(heading)) return fail(index, 'INVALID_TYPE', 'heading', 'number', kindOf(heading));
    if (typeof heading === 'number' && !(heading >= 0 && heading <= 360)) return fail(index, 'INVALID_HEADING', heading);

    let extra = NO_EXTRA;
    const rawExtra = o.extra;
    if (rawExtra !== undefined && rawExtra !== null) {
      // A fresh prototype-less object: a "__proto__" key from JSON stays a plain entry.
      extra = Object.create(null) as Record<string, string>;
      const bad = (why: string) => fail(index, 'INVALID_EXTRA', maxExtraFields, maxExtraValueChars, why);
      if (typeof rawExtra !== 'object' || Array.isArray(rawExtra)) return bad(`got ${kindOf(rawExtra)}`);
      let n = 0;
      for (const k in rawExtra) {
        if (!Object.hasOwn(rawExtra, k)) continue;
        if (++n > maxExtraFields) return bad(`more than ${maxExtraFields} fields`);
        const v = (rawExtra as Record<string, unknown>)[k];
        // "__proto__" is refused: many JS decoders (avsc included) would turn it into a
        // prototype assignment downstream and silently drop it.
        if (!EXTRA_KEY_RE.test(k) || k === '__proto__') return bad(`bad key ${JSON.stringify(show(k))}`);
        if (typeof v !== 'string') return bad(`value of ${k} is ${kindOf(v)}`);
        if (v.length > maxExtraValueChars) return bad(`value of ${k} is ${v.length} chars`);
        extra[k] = v;
      }
    }

    return {
      vehicleId,
      seq: typeof seq === 'number' ? seq : null,
      ts,
      lat,
      lng,
      speedKmh: typeof speed === 'number' ? speed : null,
      heading: typeof heading === 'number' ? heading : null,
      extra,
      // Filled in by the ingest core.
      cell: '',
      segment: '',
      ownerSegment: '',
      crossing: false,
      prevSegment: null,
      ingestTs: 0,
      gatewayId: '',
      dedupKey: typeof seq === 'number' ? `s${seq}` : `t${ts}`,
    };
  };
}
