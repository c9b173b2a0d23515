// Every validation error the topology loader can give, with its exact path and message.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latLngToCell, cellToParent } from 'h3-js';
import { describe, expect, it } from 'vitest';
import {
  createSegmentLookup, loadTopology, parseTopology, TopologyError, validateTopology, cellToDecimal, decimalToCell,
} from '../../src/topology/index.ts';

const EXAMPLE = new URL('../../infra/topology/shanghai.yaml', import.meta.url).pathname;

function base(): Record<string, unknown> {
  return {
    name: 't',
    h3: { resolution: 9, segmentResolution: 6 },
    clouds: [
      { id: 'ing', roles: ['ingest'] },
      { id: 'pa', roles: ['processing', 'storage'] },
      { id: 'st', roles: ['storage'] },
    ],
    segments: [
      { id: 'north', cloud: 'pa', bbox: [31.3, 121.1, 31.5, 121.8] },
      { id: 'south', cloud: 'pa', bbox: [30.9, 121.1, 31.1, 121.8] },
    ],
  };
}

function problems(mutate: (d: Record<string, any>) => void): string[] {
  const d = base() as Record<string, any>;
  mutate(d);
  try {
    validateTopology(d);
  } catch (err) {
    expect(err).toBeInstanceOf(TopologyError);
    expect((err as TopologyError).code).toBe('TOPOLOGY_INVALID');
    return (err as TopologyError).problems;
  }
  throw new Error('expected the topology to be rejected');
}

const cellAt = (lat: number, lng: number, res: number) => latLngToCell(lat, lng, res);

describe('topology loader: validation errors', () => {
  const cases: [string, (d: Record<string, any>) => void, string][] = [
    ['root not an object', (d) => { for (const k of Object.keys(d)) delete d[k]; Object.assign(d, { 0: 1 }); }, '$.0: unknown field (allowed: name, h3, clouds, segments, defaultSegment, centres)'],
    ['unknown top-level field', (d) => { d.cloudz = []; }, '$.cloudz: unknown field (allowed: name, h3, clouds, segments, defaultSegment, centres)'],
    ['name not a string', (d) => { d.name = 5; }, 'name: must be a non-empty string'],
    ['h3 not an object', (d) => { d.h3 = 9; }, 'h3: must be an object'],
    ['resolution out of range', (d) => { d.h3.resolution = 16; }, 'h3.resolution: must be an integer from 0 to 15'],
    ['segment resolution not an integer', (d) => { d.h3.segmentResolution = 6.5; }, 'h3.segmentResolution: must be an integer from 0 to 15'],
    ['segment resolution finer than packets', (d) => { d.h3.segmentResolution = 10; }, 'h3.segmentResolution: must not be finer than h3.resolution (10 > 9)'],
    ['unknown h3 field', (d) => { d.h3.res = 9; }, 'h3.res: unknown field (allowed: resolution, segmentResolution)'],
    ['clouds not a list', (d) => { d.clouds = {}; }, 'clouds: must be a list'],
    ['empty clouds', (d) => { d.clouds = []; }, 'clouds: must list at least one cloud'],
    ['cloud not an object', (d) => { d.clouds[1] = 'pa'; }, 'clouds[1]: must be an object'],
    ['bad cloud id', (d) => { d.clouds[1].id = 'Cloud A'; }, 'clouds[1].id: "Cloud A" is not a valid id (lower-case letters, digits, \'_\' and \'-\', 1-63 chars)'],
    ['duplicate cloud id', (d) => { d.clouds[2].id = 'pa'; }, 'clouds[2].id: duplicate cloud id "pa"'],
    ['unknown role', (d) => { d.clouds[1].roles = ['processing', 'compute']; }, 'clouds[1].roles[1]: unknown role "compute" (allowed: ingest, processing, storage)'],
    ['no roles', (d) => { d.clouds[2].roles = []; }, 'clouds[2].roles: must name at least one role'],
    ['roles not a list', (d) => { d.clouds[2].roles = 'storage'; }, 'clouds[2].roles: must be a list'],
    ['no ingest cloud', (d) => { d.clouds[0].roles = ['storage']; }, 'clouds: no cloud has the ingest role'],
    ['unknown cloud field', (d) => { d.clouds[0].region = 'x'; }, 'clouds[0].region: unknown field (allowed: id, roles, kafka, redis, clickhouse)'],
    ['kafka broker without port', (d) => { d.clouds[0].kafka = { brokers: ['localhost'] }; }, 'clouds[0].kafka.brokers[0]: must be host:port'],
    ['kafka without brokers', (d) => { d.clouds[0].kafka = { brokers: [] }; }, 'clouds[0].kafka.brokers: must list at least one broker'],
    ['kafka unknown field', (d) => { d.clouds[0].kafka = { brokers: ['a:1'], acks: 1 }; }, 'clouds[0].kafka.acks: unknown field (allowed: brokers, schemaRegistry)'],
    ['redis url scheme', (d) => { d.clouds[0].redis = { url: 'http://x:6379' }; }, 'clouds[0].redis.url: must start with redis:// or rediss://'],
    ['redis not an object', (d) => { d.clouds[0].redis = 'redis://x'; }, 'clouds[0].redis: must be an object'],
    ['clickhouse url scheme', (d) => { d.clouds[1].clickhouse = { url: 'tcp://x:9000' }; }, 'clouds[1].clickhouse.url: must start with http:// or https://'],
    ['clickhouse bad database', (d) => { d.clouds[1].clickhouse = { url: 'http://x:8123', database: 'a;b' }; }, 'clouds[1].clickhouse.database: "a;b" is not a valid id (lower-case letters, digits, \'_\' and \'-\', 1-63 chars)'],
    ['segments not a list', (d) => { d.segments = 'north'; }, 'segments: must be a list'],
    ['no segments', (d) => { d.segments = []; }, 'segments: must list at least one segment'],
    ['segment unknown cloud', (d) => { d.segments[1].cloud = 'nowhere'; }, 'segments[1].cloud: unknown cloud "nowhere"'],
    ['segment in a cloud without processing', (d) => { d.segments[1].cloud = 'st'; }, 'segments[1].cloud: cloud "st" does not have the processing role'],
    ['segment without area', (d) => { delete d.segments[0].bbox; }, 'segments[0]: must give exactly one of cells, bbox, polygon (got none)'],
    ['segment with two areas', (d) => { d.segments[0].cells = []; }, 'segments[0]: must give exactly one of cells, bbox, polygon (got cells, bbox)'],
    ['duplicate segment id', (d) => { d.segments[1].id = 'north'; }, 'segments[1].id: duplicate segment id "north"'],
    ['invalid segment id', (d) => { d.segments[1].id = ''; }, 'segments[1].id: must be a non-empty string'],
    ['bad maxReplicas', (d) => { d.segments[0].maxReplicas = 0; }, 'segments[0].maxReplicas: must be an integer from 1 to 1024'],
    ['unknown segment field', (d) => { d.segments[0].owner = 'pa'; }, 'segments[0].owner: unknown field (allowed: id, cloud, cells, bbox, polygon, maxReplicas)'],
    ['bbox wrong length', (d) => { d.segments[0].bbox = [31, 121, 32]; }, 'segments[0].bbox: must be [south, west, north, east]'],
    ['bbox latitude out of range', (d) => { d.segments[0].bbox = [31, 121, 91, 122]; }, 'segments[0].bbox[2]: must be a number from -90 to 90'],
    ['bbox inverted', (d) => { d.segments[0].bbox = [31.5, 121.1, 31.3, 121.8]; }, 'segments[0].bbox: south must be less than north'],
    ['bbox west east inverted', (d) => { d.segments[0].bbox = [31.3, 121.8, 31.5, 121.1]; }, 'segments[0].bbox: west must be less than east'],
    ['bbox too small for any cell', (d) => { d.segments[0].bbox = [31.3, 121.1, 31.3001, 121.1001]; }, 'segments[0]: area contains no cell centre at resolution 6; use a larger area or a finer segmentResolution'],
    ['polygon too short', (d) => { delete d.segments[0].bbox; d.segments[0].polygon = [[31, 121], [31.5, 121]]; }, 'segments[0].polygon: must have at least 3 points'],
    ['polygon point malformed', (d) => { delete d.segments[0].bbox; d.segments[0].polygon = [[31, 121], [31.5], [31.5, 122]]; }, 'segments[0].polygon[1]: must be [lat, lng]'],
    ['polygon longitude out of range', (d) => { delete d.segments[0].bbox; d.segments[0].polygon = [[31, 121], [31.5, 190], [31.5, 122]]; }, 'segments[0].polygon[1][1]: must be a number from -180 to 180'],
    ['cell not an H3 index', (d) => { delete d.segments[0].bbox; d.segments[0].cells = [cellAt(31.4, 121.5, 6), 'zzz']; }, 'segments[0].cells[1]: not a valid H3 cell'],
    ['cell at the wrong resolution', (d) => { delete d.segments[0].bbox; d.segments[0].cells = [cellAt(31.4, 121.5, 7)]; }, `segments[0].cells[0]: cell ${cellAt(31.4, 121.5, 7)} has resolution 7, expected the segment resolution 6`],
    ['empty cell list', (d) => { delete d.segments[0].bbox; d.segments[0].cells = []; }, 'segments[0].cells: must list at least one cell'],
    ['overlapping segments', (d) => { d.segments[1].bbox = [31.35, 121.2, 31.45, 121.6]; }, 'segments[1]: overlaps segment "north" at cell'],
    ['unknown default segment', (d) => { d.defaultSegment = 'east'; }, 'defaultSegment: unknown segment "east"'],
    ['centres not a list', (d) => { d.centres = {}; }, 'centres: must be a list'],
    ['centre without provider', (d) => { d.centres = [{ id: 'c1', location: 'sh' }]; }, 'centres[0].provider: must be a non-empty string'],
  ];

  for (const [what, mutate, message] of cases) {
    it(`rejects: ${what}`, () => {
      const ps = problems(mutate);
      expect(ps.some((p) => p === message || (message.endsWith('at cell') && p.startsWith(message)))).toBe(true);
    });
  }

  it('reports every problem at once, not only the first', () => {
    const ps = problems((d) => {
      d.h3.resolution = 99;
      d.segments[0].cloud = 'nowhere';
      d.clouds[1].roles = ['bogus'];
    });
    expect(ps.length).toBeGreaterThanOrEqual(3);
  });

  it('reports unparseable text and unreadable files', () => {
    expect(() => parseTopology('a: [1, 2', 'x.yaml')).toThrow(/x\.yaml: invalid topology:\n {2}\$: cannot parse: /);
    expect(() => parseTopology('{"a": ', 'x.json')).toThrow(/\$: cannot parse: /);
    expect(() => loadTopology('/nonexistent/topology.yaml')).toThrow('/nonexistent/topology.yaml: invalid topology:\n  $: cannot read file: ENOENT');
  });

  it('accepts a segment that lists one of its own cells twice (not an overlap)', () => {
    const c = cellAt(31.4, 121.5, 6);
    const t = validateTopology({ ...base(), segments: [{ id: 'north', cloud: 'pa', cells: [c, c] }] });
    expect(t.segments[0]!.cells).toEqual([c, c]);
  });
});

describe('topology loader: the example and lookup', () => {
  it('loads the Shanghai example: three segments in three clouds plus an ingest cloud', () => {
    const t = loadTopology(EXAMPLE);
    expect(t.name).toBe('shanghai');
    expect(t.segments.map((s) => [s.id, s.cloud])).toEqual([['north', 'cloud-a'], ['central', 'cloud-b'], ['south', 'cloud-c']]);
    expect(t.clouds.find((c) => c.roles.includes('ingest'))!.id).toBe('cloud-ingest');
    for (const s of t.segments) expect(s.cells.length).toBeGreaterThan(10);
  });

  it('loads the production example with every endpoint named', () => {
    const t = loadTopology(new URL('../../infra/topology/production.example.yaml', import.meta.url).pathname);
    expect(t.clouds.find((c) => c.id === 'cloud-ingest')).toMatchObject({ kafka: { brokers: ['kafka:9092'] }, redis: { url: 'redis://redis:6379' } });
    expect(t.clouds.filter((c) => c.clickhouse).map((c) => c.clickhouse!.url)).toEqual(['http://clickhouse-a:8123', 'http://clickhouse-b:8123', 'http://clickhouse-c:8123']);
  });

  it('routes points to segments via the segment-resolution parent, matching a brute-force scan', () => {
    const t = loadTopology(EXAMPLE);
    const lookup = createSegmentLookup(t);
    let inside = 0;
    for (let lat = 30.85; lat <= 31.55; lat += 0.013) {
      for (let lng = 121.05; lng <= 121.85; lng += 0.017) {
        const r = lookup.route(lat, lng);
        expect(r.cell).toBe(latLngToCell(lat, lng, 9));
        const parent = cellToParent(r.cell, 6);
        const scan = t.segments.find((s) => s.cells.includes(parent))?.id;
        expect(r.segment).toBe(scan);
        if (scan) inside++;
      }
    }
    expect(inside).toBeGreaterThan(1000);
    expect(lookup.route(39.9, 116.4).segment).toBeUndefined();
  });

  it('sends points outside every segment to the default segment when one is set', () => {
    const t = validateTopology({ ...base(), defaultSegment: 'south' });
    expect(createSegmentLookup(t).route(39.9, 116.4).segment).toBe('south');
  });

  it('accepts JSON files and converts cells to ClickHouse UInt64 and back', () => {
    const dir = mkdtempSync(join(tmpdir(), 'topo-'));
    const file = join(dir, 't.json');
    writeFileSync(file, JSON.stringify(base()));
    expect(loadTopology(file).segments).toHaveLength(2);
    const cell = latLngToCell(31.2, 121.5, 9);
    expect(decimalToCell(cellToDecimal(cell))).toBe(cell);
    expect(cellToDecimal('8930994a64fffff')).toBe('617848107929960447');
  });
});
