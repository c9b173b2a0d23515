// Table-driven bad input: every packet code and every request code, exact code AND message.
// Bad packets are mixed with good ones in one request; the good ones must be produced
// (read back from Kafka) and the bad ones listed with their index.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Bus } from '../../src/bus/index.ts';
import { createGateway, type Gateway, type IngestResult } from '../../src/gateway/index.ts';
import type { VehicleState } from '../../src/state/index.ts';
import { segmentTopicSpecs, type Topology } from '../../src/topology/index.ts';
import { infra, testBus, testState } from '../helpers/index.ts';
import { ndjson, privateTopology, readAll, topics } from './helpers.ts';

const NOW = Date.now();
const TS = NOW - 1_000;
const EXTRA_MSG = 'extra must be an object of at most 32 string values (keys 1-64 chars, values up to 256 chars): ';
const jsonError = (text: string) => {
  try {
    JSON.parse(text);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('parsed');
};

const good = (id: string, extra: Record<string, unknown> = {}) => ({ vehicleId: id, seq: 1, ts: TS, lat: 31.2, lng: 121.4, speedKmh: 40, heading: 90, ...extra });
const w = (extra: Record<string, unknown>) => JSON.stringify(good('bad', extra));
const without = (field: string) => {
  const o: Record<string, unknown> = good('bad');
  delete o[field];
  return JSON.stringify(o);
};
const many = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));

// [name, raw JSON text of the item, code, message]
const PACKET_CASES: [string, string, string, string][] = [
  ['number item', '42', 'NOT_AN_OBJECT', 'packet must be a JSON object, got number'],
  ['null item', 'null', 'NOT_AN_OBJECT', 'packet must be a JSON object, got null'],
  ['array item', '[1,2]', 'NOT_AN_OBJECT', 'packet must be a JSON object, got array'],
  ['string item', '"hello"', 'NOT_AN_OBJECT', 'packet must be a JSON object, got string "hello"'],
  ['missing vehicleId', without('vehicleId'), 'MISSING_FIELD', 'vehicleId is required'],
  ['numeric vehicleId', w({ vehicleId: 5 }), 'INVALID_TYPE', 'vehicleId must be a string, got number'],
  ['vehicleId with a space', w({ vehicleId: 'a b' }), 'INVALID_VEHICLE_ID', 'vehicleId must be 1-64 characters of [A-Za-z0-9_.:-], got "a b"'],
  ['empty vehicleId', w({ vehicleId: '' }), 'INVALID_VEHICLE_ID', 'vehicleId must be 1-64 characters of [A-Za-z0-9_.:-], got ""'],
  // Regression (#17): a too-long id was quoted twice and cut without its length.
  ['65-char vehicleId', w({ vehicleId: 'x'.repeat(65) }), 'INVALID_VEHICLE_ID', `vehicleId must be 1-64 characters of [A-Za-z0-9_.:-], got "${'x'.repeat(32)}…" (65 characters)`],
  ['300-char vehicleId', w({ vehicleId: 'y'.repeat(300) }), 'INVALID_VEHICLE_ID', `vehicleId must be 1-64 characters of [A-Za-z0-9_.:-], got "${'y'.repeat(32)}…" (300 characters)`],
  ['missing ts', without('ts'), 'MISSING_FIELD', 'ts is required'],
  ['string ts', w({ ts: String(TS) }), 'INVALID_TYPE', `ts must be a number, got string "${TS}"`],
  ['fractional ts', w({ ts: 1.5 }), 'INVALID_TS', 'ts must be an integer number of epoch milliseconds, got 1.5'],
  ['negative ts', w({ ts: -5 }), 'INVALID_TS', 'ts must be an integer number of epoch milliseconds, got -5'],
  ['huge ts (1e999)', w({}).replace(`"ts":${TS}`, '"ts":1e999'), 'INVALID_TS', 'ts must be an integer number of epoch milliseconds, got Infinity'],
  ['ts an hour ahead', w({ ts: NOW + 3_600_000 }), 'TS_IN_FUTURE', `ts ${NOW + 3_600_000} is more than 5 minutes ahead of the gateway clock`],
  ['ts in seconds', w({ ts: Math.floor(NOW / 1000) }), 'TS_TOO_OLD', `ts ${Math.floor(NOW / 1000)} is more than 7 days behind the gateway clock (epoch seconds instead of milliseconds?)`],
  // Regression (#17): the seconds hint was added to every too-old value.
  ['ts in ms a year old', w({ ts: NOW - 365 * 86_400_000 }), 'TS_TOO_OLD', `ts ${NOW - 365 * 86_400_000} is more than 7 days behind the gateway clock`],
  ['missing lat', without('lat'), 'MISSING_FIELD', 'lat is required'],
  ['string lat', w({ lat: '31.2' }), 'INVALID_TYPE', 'lat must be a number, got string "31.2"'],
  ['lat 91', w({ lat: 91 }), 'INVALID_LAT', 'lat must be a finite number from -90 to 90, got 91'],
  ['lat Infinity', w({}).replace('"lat":31.2', '"lat":1e999'), 'INVALID_LAT', 'lat must be a finite number from -90 to 90, got Infinity'],
  ['missing lng', without('lng'), 'MISSING_FIELD', 'lng is required'],
  ['boolean lng', w({ lng: true }), 'INVALID_TYPE', 'lng must be a number, got boolean'],
  ['lng 181', w({ lng: 181 }), 'INVALID_LNG', 'lng must be a finite number from -180 to 180, got 181'],
  ['lng -Infinity', w({}).replace('"lng":121.4', '"lng":-1e999'), 'INVALID_LNG', 'lng must be a finite number from -180 to 180, got -Infinity'],
  ['string seq', w({ seq: '1' }), 'INVALID_TYPE', 'seq must be a number, got string "1"'],
  ['negative seq', w({ seq: -1 }), 'INVALID_SEQ', 'seq must be a non-negative integer up to 2^53-1, got -1'],
  ['fractional seq', w({ seq: 2.5 }), 'INVALID_SEQ', 'seq must be a non-negative integer up to 2^53-1, got 2.5'],
  ['string speed', w({ speedKmh: '50' }), 'INVALID_TYPE', 'speedKmh must be a number, got string "50"'],
  ['speed 401', w({ speedKmh: 401 }), 'INVALID_SPEED', 'speedKmh must be a finite number from 0 to 400, got 401'],
  ['negative speed', w({ speedKmh: -1 }), 'INVALID_SPEED', 'speedKmh must be a finite number from 0 to 400, got -1'],
  ['heading 361', w({ heading: 361 }), 'INVALID_HEADING', 'heading must be a finite number from 0 to 360, got 361'],
  ['object heading', w({ heading: {} }), 'INVALID_TYPE', 'heading must be a number, got object'],
  ['string extra', w({ extra: 'x' }), 'INVALID_EXTRA', `${EXTRA_MSG}got string "x"`],
  ['numeric extra value', w({ extra: { a: 1 } }), 'INVALID_EXTRA', `${EXTRA_MSG}value of a is number`],
  ['33 extra fields', w({ extra: many }), 'INVALID_EXTRA', `${EXTRA_MSG}more than 32 fields`],
  ['bad extra key', w({ extra: { 'a b': 'x' } }), 'INVALID_EXTRA', `${EXTRA_MSG}bad key "a b"`],
  // Raw JSON: an object literal with __proto__ would set the prototype instead of a key.
  ['__proto__ extra key', w({}).replace('"seq":1', '"extra":{"__proto__":{"polluted":"yes"}},"seq":1'), 'INVALID_EXTRA', `${EXTRA_MSG}bad key "__proto__"`],
  ['long extra value', w({ extra: { a: 'x'.repeat(257) } }), 'INVALID_EXTRA', `${EXTRA_MSG}value of a is 257 chars`],
  ['position 0,0', w({ lat: 0, lng: 0 }), 'OUT_OF_AREA', 'position 0,0 is outside every segment of topology "shanghai"'],
];

describe('gateway bad input (real Redis + Kafka)', () => {
  let topo: Topology;
  let bus: Bus;
  let state: VehicleState;
  let gw: Gateway;
  const post = (payload: string, contentType = 'application/json') =>
    gw.app.inject({ method: 'POST', url: '/v1/packets', headers: { 'content-type': contentType }, payload });

  beforeAll(async () => {
    topo = privateTopology();
    bus = testBus();
    state = testState();
    await bus.ensureTopics(segmentTopicSpecs(topo));
    gw = createGateway({
      topology: topo, bus, state, now: () => NOW, logger: pino({ level: 'silent' }),
      config: { maxBodyBytes: 64 * 1024, maxPacketsPerRequest: 100, rateLimit: null },
    });
  });
  afterAll(async () => {
    await gw?.close();
    await bus?.close();
    await state?.close();
  });

  it('rejects each bad packet alone with its index, code and message; the good ones are produced', async () => {
    // good, bad, good, bad, ... so indexes are checked too.
    const raw: string[] = [];
    const expected: { index: number; code: string; message: string }[] = [];
    const goodIds: string[] = [];
    PACKET_CASES.forEach(([, text, code, message], i) => {
      goodIds.push(`good-${i}`);
      raw.push(JSON.stringify(good(`good-${i}`, i % 3 === 0 ? { extra: { note: 'x', 'constructor': 'c' } } : {})));
      expected.push({ index: raw.length, code, message });
      raw.push(text);
    });
    const res = await post(`[${raw.join(',')}]`);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as IngestResult;
    expect(body.rejected).toEqual(expected);
    expect(body.accepted).toBe(goodIds.length);
    expect(body.produced).toBe(goodIds.length);

    const msgs = await readAll(infra().kafka!.brokers, topics(topo), goodIds.length);
    expect(msgs.map((m) => m.packet.vehicleId).sort()).toEqual([...goodIds].sort());
    expect(msgs.find((m) => m.packet.vehicleId === 'good-0')!.packet.extra).toEqual({ note: 'x', constructor: 'c' });

    const metrics = await gw.metrics.metrics();
    expect(metrics).toContain('iov_gateway_packets_rejected_total{code="INVALID_EXTRA"} 6');
    expect(metrics).toContain('iov_gateway_packets_rejected_total{code="OUT_OF_AREA"} 1');
  });

  it('NDJSON: a malformed line is rejected alone (MALFORMED_LINE); blank lines are skipped', async () => {
    const badLine = '{"vehicleId": "nd-2", "ts": ';
    const body = `${JSON.stringify(good('nd-1'))}\n\n${badLine}\r\n${JSON.stringify(good('nd-3'))}\n   \n42`;
    const res = await post(body, 'application/x-ndjson');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      accepted: 2, duplicates: 0, crossings: 0, produced: 2,
      rejected: [
        { index: 1, code: 'MALFORMED_LINE', message: `line is not valid JSON: ${jsonError(badLine)}` },
        { index: 3, code: 'NOT_AN_OBJECT', message: 'packet must be a JSON object, got number' },
      ],
    });
  });

  it('ingest() rejects NaN and Infinity that JSON cannot carry', async () => {
    const res = await gw.ingest([good('nan-1', { lat: Number.NaN }), good('nan-2', { lng: Infinity }), good('nan-3', { speedKmh: Number.NaN }), good('nan-4')]);
    expect(res.rejected).toEqual([
      { index: 0, code: 'INVALID_LAT', message: 'lat must be a finite number from -90 to 90, got NaN' },
      { index: 1, code: 'INVALID_LNG', message: 'lng must be a finite number from -180 to 180, got Infinity' },
      { index: 2, code: 'INVALID_SPEED', message: 'speedKmh must be a finite number from 0 to 400, got NaN' },
    ]);
    expect(res.accepted).toBe(1);
  });

  const big = JSON.stringify(Array.from({ length: 60 }, (_, i) => good(`big-${i}`, { extra: { pad: 'x'.repeat(250) } }))).repeat(3);
  const tooMany = JSON.stringify(Array.from({ length: 101 }, (_, i) => good(`many-${i}`)));
  // [name, content type, body, status, code, message]
  const REQUEST_CASES: [string, string, string, number, string, string][] = [
    ['text/plain', 'text/plain', 'hello', 415, 'UNSUPPORTED_MEDIA_TYPE', 'content type text/plain is not supported: use application/json or application/x-ndjson'],
    ['application/xml', 'application/xml', '<a/>', 415, 'UNSUPPORTED_MEDIA_TYPE', 'content type application/xml is not supported: use application/json or application/x-ndjson'],
    ['empty JSON body', 'application/json', '', 400, 'EMPTY_BODY', 'the request holds no packets'],
    ['empty array', 'application/json', '[]', 400, 'EMPTY_BODY', 'the request holds no packets'],
    ['blank NDJSON', 'application/x-ndjson', '\n  \n', 400, 'EMPTY_BODY', 'the request holds no packets'],
    ['truncated JSON', 'application/json', '[{"vehicleId":', 400, 'MALFORMED_JSON', `body is not valid JSON: ${jsonError('[{"vehicleId":')}`],
    ['NaN literal', 'application/json', '[{"lat":NaN}]', 400, 'MALFORMED_JSON', `body is not valid JSON: ${jsonError('[{"lat":NaN}]')}`],
    ['top-level number', 'application/json', '42', 400, 'INVALID_BODY', 'body must be a JSON array of packets or a single packet object, got number'],
    ['top-level string', 'application/json', '"x"', 400, 'INVALID_BODY', 'body must be a JSON array of packets or a single packet object, got string "x"'],
    ['oversize body', 'application/json', big, 413, 'BODY_TOO_LARGE', 'body exceeds the limit of 65536 bytes'],
    ['too many packets (JSON)', 'application/json', tooMany, 413, 'TOO_MANY_PACKETS', 'request holds more than the limit of 100 packets'],
    ['too many packets (NDJSON)', 'application/x-ndjson', ndjson(JSON.parse(tooMany) as unknown[]), 413, 'TOO_MANY_PACKETS', 'request holds more than the limit of 100 packets'],
  ];

  it.each(REQUEST_CASES)('request: %s (%s)', async (_name, ct, payload, status, code, message) => {
    const res = await post(payload, ct);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toEqual({ statusCode: status, code, message });
  });

  it('every packet rejected -> 422 ALL_REJECTED with the list', async () => {
    const res = await post(`[${w({ lat: 95 })}, ${w({ lng: 'x' })}]`);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toEqual({
      // Regression (#17): the message names the first reason.
      statusCode: 422, code: 'ALL_REJECTED', message: 'every packet of the request was rejected; the first, packet 0: INVALID_LAT lat must be a finite number from -90 to 90, got 95',
      accepted: 0, duplicates: 0, crossings: 0, produced: 0,
      rejected: [
        { index: 0, code: 'INVALID_LAT', message: 'lat must be a finite number from -90 to 90, got 95' },
        { index: 1, code: 'INVALID_TYPE', message: 'lng must be a number, got string "x"' },
      ],
    });
  });

  it('a single object is a one-packet request; unknown routes get NOT_FOUND', async () => {
    const res = await post(JSON.stringify(good('single-1')));
    expect(res.json()).toEqual({ accepted: 1, duplicates: 0, rejected: [], crossings: 0, produced: 1 });
    const nf = await gw.app.inject({ method: 'GET', url: '/nope?x=1' });
    expect(nf.statusCode).toBe(404);
    expect(nf.json()).toEqual({ statusCode: 404, code: 'NOT_FOUND', message: 'no route GET /nope' });
  });

  it('Expect: 100-continue with a declared body over the limit gets 413 before any 100 Continue (regression #17)', async () => {
    const { port } = new URL(await gw.app.listen({ port: 0, host: '127.0.0.1' }));
    // A client that sends its body only once invited, as curl does for large uploads.
    const talk = (length: number, body?: string) => new Promise<string>((resolve, reject) => {
      const sock = connect(Number(port), '127.0.0.1');
      let got = '';
      let sent = false;
      sock.on('data', (c: Buffer) => {
        got += c.toString();
        if (body !== undefined && !sent && got.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
          sent = true;
          sock.write(body);
        }
      });
      sock.on('end', () => resolve(got));
      sock.on('error', reject);
      sock.write(`POST /v1/packets HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`);
    });
    const big = await talk(64 * 1024 + 1);
    expect(big.split('\r\n')[0]).toBe('HTTP/1.1 413 Payload Too Large');
    expect(big).not.toContain('100 Continue');
    expect(JSON.parse(big.slice(big.indexOf('\r\n\r\n') + 4))).toEqual({ statusCode: 413, code: 'BODY_TOO_LARGE', message: 'body exceeds the limit of 65536 bytes' });
    // Within the limit: invited, then ingested.
    const body = JSON.stringify(good('continue-1'));
    const ok = await talk(Buffer.byteLength(body), body);
    expect(ok.startsWith('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n')).toBe(true);
    expect(JSON.parse(ok.slice(ok.lastIndexOf('\r\n\r\n') + 4))).toMatchObject({ accepted: 1 });
  });
});
