// Load and validate a topology file (YAML or JSON). Every error names the path of the bad
// field, e.g. `segments[2].cells[5]: not a valid H3 cell`, so a broken file is fixed at once.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { getResolution, isValidCell, polygonToCells } from 'h3-js';
import { TopologyError } from './errors.ts';
import type { Centre, Cloud, CloudRole, Segment, Topology } from './types.ts';

/** The example topology every command uses when given none (absolute: any working folder). */
export const DEFAULT_TOPOLOGY_FILE = fileURLToPath(new URL('../../infra/topology/shanghai.yaml', import.meta.url));

const ID_RE = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const ROLES: readonly CloudRole[] = ['ingest', 'processing', 'storage'];

type Obj = Record<string, unknown>;

class Checker {
  readonly problems: string[] = [];
  fail(path: string, msg: string): void {
    this.problems.push(`${path}: ${msg}`);
  }
  obj(v: unknown, path: string): Obj | undefined {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) {
      this.fail(path, 'must be an object');
      return undefined;
    }
    return v as Obj;
  }
  arr(v: unknown, path: string): unknown[] | undefined {
    if (!Array.isArray(v)) {
      this.fail(path, 'must be a list');
      return undefined;
    }
    return v;
  }
  str(v: unknown, path: string): string | undefined {
    if (typeof v !== 'string' || v.length === 0) {
      this.fail(path, 'must be a non-empty string');
      return undefined;
    }
    return v;
  }
  id(v: unknown, path: string): string | undefined {
    const s = this.str(v, path);
    if (s !== undefined && !ID_RE.test(s)) {
      this.fail(path, `"${s}" is not a valid id (lower-case letters, digits, '_' and '-', 1-63 chars)`);
      return undefined;
    }
    return s;
  }
  int(v: unknown, path: string, min: number, max: number): number | undefined {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(path, `must be an integer from ${min} to ${max}`);
      return undefined;
    }
    return v;
  }
  num(v: unknown, path: string, min: number, max: number): number | undefined {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      this.fail(path, `must be a number from ${min} to ${max}`);
      return undefined;
    }
    return v;
  }
  unknownKeys(o: Obj, allowed: readonly string[], path: string): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.fail(`${path}.${k}`, `unknown field (allowed: ${allowed.join(', ')})`);
    }
  }
}

function checkCloud(c: Checker, raw: unknown, path: string): Cloud | undefined {
  const o = c.obj(raw, path);
  if (!o) return undefined;
  c.unknownKeys(o, ['id', 'roles', 'kafka', 'redis', 'clickhouse'], path);
  const id = c.id(o.id, `${path}.id`);
  const rolesRaw = c.arr(o.roles, `${path}.roles`);
  const roles: CloudRole[] = [];
  rolesRaw?.forEach((r, i) => {
    if (typeof r !== 'string' || !ROLES.includes(r as CloudRole)) {
      c.fail(`${path}.roles[${i}]`, `unknown role ${JSON.stringify(r)} (allowed: ${ROLES.join(', ')})`);
    } else roles.push(r as CloudRole);
  });
  if (rolesRaw && rolesRaw.length === 0) c.fail(`${path}.roles`, 'must name at least one role');
  const cloud: Cloud = { id: id ?? '', roles };
  if (o.kafka !== undefined) {
    const k = c.obj(o.kafka, `${path}.kafka`);
    if (k) {
      c.unknownKeys(k, ['brokers', 'schemaRegistry'], `${path}.kafka`);
      const brokers = c.arr(k.brokers, `${path}.kafka.brokers`) ?? [];
      brokers.forEach((b, i) => {
        if (typeof b !== 'string' || !/^[^\s:]+:\d{1,5}$/.test(b)) c.fail(`${path}.kafka.brokers[${i}]`, 'must be host:port');
      });
      if (brokers.length === 0) c.fail(`${path}.kafka.brokers`, 'must list at least one broker');
      cloud.kafka = { brokers: brokers as string[] };
      if (k.schemaRegistry !== undefined) {
        const url = c.str(k.schemaRegistry, `${path}.kafka.schemaRegistry`);
        if (url) cloud.kafka.schemaRegistry = url;
      }
    }
  }
  if (o.redis !== undefined) {
    const r = c.obj(o.redis, `${path}.redis`);
    if (r) {
      c.unknownKeys(r, ['url'], `${path}.redis`);
      const url = c.str(r.url, `${path}.redis.url`);
      if (url && !/^rediss?:\/\//.test(url)) c.fail(`${path}.redis.url`, 'must start with redis:// or rediss://');
      cloud.redis = { url: url ?? '' };
    }
  }
  if (o.clickhouse !== undefined) {
    const ch = c.obj(o.clickhouse, `${path}.clickhouse`);
    if (ch) {
      c.unknownKeys(ch, ['url', 'database', 'username', 'password'], `${path}.clickhouse`);
      const url = c.str(ch.url, `${path}.clickhouse.url`);
      if (url && !/^https?:\/\//.test(url)) c.fail(`${path}.clickhouse.url`, 'must start with http:// or https://');
      const database = c.id(ch.database ?? 'iov', `${path}.clickhouse.database`);
      cloud.clickhouse = { url: url ?? '', database: database ?? 'iov' };
      if (ch.username !== undefined) cloud.clickhouse.username = c.str(ch.username, `${path}.clickhouse.username`);
      if (ch.password !== undefined && typeof ch.password === 'string') cloud.clickhouse.password = ch.password;
    }
  }
  return cloud;
}

function fillArea(c: Checker, o: Obj, path: string, res: number): string[] {
  const given = ['cells', 'bbox', 'polygon'].filter((k) => o[k] !== undefined);
  if (given.length !== 1) {
    c.fail(path, `must give exactly one of cells, bbox, polygon (got ${given.length === 0 ? 'none' : given.join(', ')})`);
    return [];
  }
  if (o.cells !== undefined) {
    const cells = c.arr(o.cells, `${path}.cells`) ?? [];
    const out: string[] = [];
    cells.forEach((cell, i) => {
      const p = `${path}.cells[${i}]`;
      if (typeof cell !== 'string' || !isValidCell(cell)) c.fail(p, 'not a valid H3 cell');
      else if (getResolution(cell) !== res) c.fail(p, `cell ${cell} has resolution ${getResolution(cell)}, expected the segment resolution ${res}`);
      else out.push(cell);
    });
    if (cells.length === 0) c.fail(`${path}.cells`, 'must list at least one cell');
    return out;
  }
  let ring: [number, number][] = [];
  if (o.bbox !== undefined) {
    // bbox: [south, west, north, east] in degrees (lat, lng, lat, lng)
    const b = c.arr(o.bbox, `${path}.bbox`);
    if (!b) return [];
    if (b.length !== 4) {
      c.fail(`${path}.bbox`, 'must be [south, west, north, east]');
      return [];
    }
    const s = c.num(b[0], `${path}.bbox[0]`, -90, 90);
    const w = c.num(b[1], `${path}.bbox[1]`, -180, 180);
    const n = c.num(b[2], `${path}.bbox[2]`, -90, 90);
    const e = c.num(b[3], `${path}.bbox[3]`, -180, 180);
    if (s === undefined || w === undefined || n === undefined || e === undefined) return [];
    if (s >= n) c.fail(`${path}.bbox`, 'south must be less than north');
    if (w >= e) c.fail(`${path}.bbox`, 'west must be less than east');
    ring = [[s, w], [s, e], [n, e], [n, w]];
  } else {
    const pts = c.arr(o.polygon, `${path}.polygon`) ?? [];
    pts.forEach((pt, i) => {
      const p = `${path}.polygon[${i}]`;
      if (!Array.isArray(pt) || pt.length !== 2) return c.fail(p, 'must be [lat, lng]');
      const lat = c.num(pt[0], `${p}[0]`, -90, 90);
      const lng = c.num(pt[1], `${p}[1]`, -180, 180);
      if (lat !== undefined && lng !== undefined) ring.push([lat, lng]);
    });
    if (pts.length < 3) c.fail(`${path}.polygon`, 'must have at least 3 points');
  }
  if (c.problems.length > 0 || ring.length < 3) return [];
  const cells = polygonToCells(ring, res);
  if (cells.length === 0) c.fail(path, `area contains no cell centre at resolution ${res}; use a larger area or a finer segmentResolution`);
  return cells;
}

/** Validate a parsed topology document. Throws TopologyError listing every problem found. */
export function validateTopology(doc: unknown, source?: string): Topology {
  const c = new Checker();
  const o = c.obj(doc, '$');
  if (!o) throw new TopologyError(c.problems, source);
  c.unknownKeys(o, ['name', 'h3', 'clouds', 'segments', 'defaultSegment', 'centres'], '$');
  const name = c.str(o.name ?? 'topology', 'name') ?? 'topology';

  let resolution = 9;
  let segmentResolution = 6;
  if (o.h3 !== undefined) {
    const h = c.obj(o.h3, 'h3');
    if (h) {
      c.unknownKeys(h, ['resolution', 'segmentResolution'], 'h3');
      resolution = c.int(h.resolution ?? 9, 'h3.resolution', 0, 15) ?? 9;
      segmentResolution = c.int(h.segmentResolution ?? 6, 'h3.segmentResolution', 0, 15) ?? 6;
      if (segmentResolution > resolution) {
        c.fail('h3.segmentResolution', `must not be finer than h3.resolution (${segmentResolution} > ${resolution})`);
      }
    }
  }

  const clouds: Cloud[] = [];
  const cloudIds = new Set<string>();
  (c.arr(o.clouds, 'clouds') ?? []).forEach((raw, i) => {
    const cloud = checkCloud(c, raw, `clouds[${i}]`);
    if (!cloud || !cloud.id) return;
    if (cloudIds.has(cloud.id)) c.fail(`clouds[${i}].id`, `duplicate cloud id "${cloud.id}"`);
    cloudIds.add(cloud.id);
    clouds.push(cloud);
  });
  if (Array.isArray(o.clouds) && clouds.length === 0) c.fail('clouds', 'must list at least one cloud');
  if (clouds.length > 0 && !clouds.some((cl) => cl.roles.includes('ingest'))) c.fail('clouds', 'no cloud has the ingest role');

  const segments: Segment[] = [];
  const owner = new Map<string, string>(); // segment-resolution cell -> segment id
  (c.arr(o.segments, 'segments') ?? []).forEach((raw, i) => {
    const path = `segments[${i}]`;
    const so = c.obj(raw, path);
    if (!so) return;
    c.unknownKeys(so, ['id', 'cloud', 'cells', 'bbox', 'polygon', 'maxReplicas'], path);
    const id = c.id(so.id, `${path}.id`);
    const cloudId = c.str(so.cloud, `${path}.cloud`);
    if (cloudId !== undefined) {
      const cloud = clouds.find((cl) => cl.id === cloudId);
      if (!cloud) c.fail(`${path}.cloud`, `unknown cloud "${cloudId}"`);
      else if (!cloud.roles.includes('processing')) c.fail(`${path}.cloud`, `cloud "${cloudId}" does not have the processing role`);
    }
    const maxReplicas = c.int(so.maxReplicas ?? 4, `${path}.maxReplicas`, 1, 1024) ?? 4;
    const before = c.problems.length;
    const cells = fillArea(c, so, path, segmentResolution);
    if (id !== undefined && segments.some((s) => s.id === id)) c.fail(`${path}.id`, `duplicate segment id "${id}"`);
    if (c.problems.length === before) {
      for (const cell of cells) {
        const prev = owner.get(cell);
        if (prev !== undefined && prev !== id) {
          c.fail(path, `overlaps segment "${prev}" at cell ${cell}`);
          break;
        }
        owner.set(cell, id ?? '');
      }
    }
    segments.push({ id: id ?? '', cloud: cloudId ?? '', cells, maxReplicas });
  });
  if (Array.isArray(o.segments) && o.segments.length === 0) c.fail('segments', 'must list at least one segment');

  let defaultSegment: string | undefined;
  if (o.defaultSegment !== undefined) {
    defaultSegment = c.str(o.defaultSegment, 'defaultSegment');
    if (defaultSegment !== undefined && !segments.some((s) => s.id === defaultSegment)) {
      c.fail('defaultSegment', `unknown segment "${defaultSegment}"`);
    }
  }

  const centres: Centre[] = [];
  if (o.centres !== undefined) {
    (c.arr(o.centres, 'centres') ?? []).forEach((raw, i) => {
      const co = c.obj(raw, `centres[${i}]`);
      if (!co) return;
      const id = c.str(co.id, `centres[${i}].id`);
      const provider = c.str(co.provider, `centres[${i}].provider`);
      const location = c.str(co.location, `centres[${i}].location`);
      if (id && provider && location) centres.push({ ...co, id, provider, location });
    });
  }

  if (c.problems.length > 0) throw new TopologyError(c.problems, source);
  const topo: Topology = { name, h3: { resolution, segmentResolution }, clouds, segments, centres };
  if (defaultSegment !== undefined) topo.defaultSegment = defaultSegment;
  if (source !== undefined) topo.source = source;
  return topo;
}

/** Parse YAML or JSON text (JSON is valid YAML, but a .json file gets JSON's error messages). */
export function parseTopology(text: string, source?: string): Topology {
  let doc: unknown;
  try {
    doc = source?.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new TopologyError([`$: cannot parse: ${(err as Error).message.split('\n')[0]}`], source);
  }
  return validateTopology(doc, source);
}

export function loadTopology(file: string): Topology {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new TopologyError([`$: cannot read file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`], file);
  }
  return parseTopology(text, path);
}
