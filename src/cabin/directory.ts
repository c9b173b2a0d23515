// Cross-domain resource directory (DESIGN.md §6, the paper's four levels):
//   root → provider (name, access limits) → location (name, uplink bandwidth, centre count)
//        → resource domain centre (CPU, memory, disk, VM count, VM speed, VM price,
//          uplink price, VM bandwidth and storage, access form, position, state).
// Centres register from status files (one per centre, JSON or YAML). Registering a known
// id updates it in place (moving it if its provider/location changed) — never a duplicate;
// re-registering is how state is refreshed. Withdrawing removes the centre, and empty
// locations/providers with it. The directory persists as one JSON file.
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CabinError } from './errors.ts';
import type { CentreParams } from './types.ts';

export const ACCESS_FORMS = ['public-api', 'vpn', 'dedicated-line'] as const;
export type AccessForm = (typeof ACCESS_FORMS)[number];
export const CENTRE_STATES = ['up', 'degraded', 'down'] as const;
export type CentreState = (typeof CENTRE_STATES)[number];

/** One status file, as a centre reports itself. */
export interface CentreStatus {
  id: string;
  provider: string;
  /** provider access limits, e.g. { maxVmsPerTenant: 200, apiCallsPerS: 20 } */
  providerAccessLimits?: Record<string, number>;
  location: string;
  /** uplink bandwidth of the location, Mbit/s */
  locationUplinkMbps?: number;
  cpuCores: number;
  memoryGb: number;
  diskGb: number;
  vmCount: number;
  vmSpeedMBps: number;
  vmPricePerHour: number;
  uplinkPricePerGB: number;
  vmBandwidthMBps: number;
  vmStorageMB: number;
  accessForm: AccessForm;
  lat: number;
  lng: number;
  state: CentreState;
}

export interface DirectoryCentre extends Omit<CentreStatus, 'provider' | 'providerAccessLimits' | 'location' | 'locationUplinkMbps'> {
  updatedAt: string;
  source?: string;
}
export interface DirectoryLocation { name: string; uplinkMbps: number | null; centreCount: number; centres: DirectoryCentre[] }
export interface DirectoryProvider { name: string; accessLimits: Record<string, number>; locations: DirectoryLocation[] }
export interface Directory { version: 1; updatedAt: string; providers: DirectoryProvider[] }

export interface StatusFieldError { file: string; field: string; message: string }

const NUMERIC: ReadonlyArray<[keyof CentreStatus, 'int' | 'pos' | 'nonneg']> = [
  ['cpuCores', 'int'], ['memoryGb', 'pos'], ['diskGb', 'pos'], ['vmCount', 'int'], ['vmSpeedMBps', 'pos'],
  ['vmPricePerHour', 'nonneg'], ['uplinkPricePerGB', 'nonneg'], ['vmBandwidthMBps', 'pos'], ['vmStorageMB', 'pos'],
];

/** Validate one parsed status document; every problem names its field. */
export function parseCentreStatus(doc: unknown, file: string): { status?: CentreStatus; errors: StatusFieldError[] } {
  const errors: StatusFieldError[] = [];
  const err = (field: string, message: string): void => { errors.push({ file, field, message }); };
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    err('(root)', 'must be an object');
    return { errors };
  }
  const d = doc as Record<string, unknown>;
  const str = (k: string): string => {
    const v = d[k];
    if (typeof v !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(v)) { err(k, `must be a name of 1–64 chars [A-Za-z0-9_.:-], got ${JSON.stringify(v)}`); return ''; }
    return v;
  };
  const id = str('id'), provider = str('provider'), location = str('location');
  const nums: Record<string, number> = {};
  for (const [k, kind] of NUMERIC) {
    const v = d[k];
    const ok = typeof v === 'number' && Number.isFinite(v) && (kind === 'int' ? Number.isInteger(v) && v >= 0 : kind === 'pos' ? v > 0 : v >= 0);
    if (!ok) err(k, `must be ${kind === 'int' ? 'an integer ≥ 0' : kind === 'pos' ? 'a number > 0' : 'a number ≥ 0'}, got ${JSON.stringify(v)}`);
    else nums[k] = v as number;
  }
  const lat = d.lat, lng = d.lng;
  if (typeof lat !== 'number' || !(lat >= -90 && lat <= 90)) err('lat', `must be a latitude in [-90, 90], got ${JSON.stringify(lat)}`);
  if (typeof lng !== 'number' || !(lng >= -180 && lng <= 180)) err('lng', `must be a longitude in [-180, 180], got ${JSON.stringify(lng)}`);
  const accessForm = d.accessForm ?? 'public-api';
  if (!ACCESS_FORMS.includes(accessForm as AccessForm)) err('accessForm', `must be one of ${ACCESS_FORMS.join(', ')}, got ${JSON.stringify(accessForm)}`);
  const state = d.state ?? 'up';
  if (!CENTRE_STATES.includes(state as CentreState)) err('state', `must be one of ${CENTRE_STATES.join(', ')}, got ${JSON.stringify(state)}`);
  const up = d.locationUplinkMbps;
  if (up !== undefined && !(typeof up === 'number' && up > 0)) err('locationUplinkMbps', `must be a number > 0, got ${JSON.stringify(up)}`);
  const lim = d.providerAccessLimits;
  if (lim !== undefined && (typeof lim !== 'object' || lim === null || Array.isArray(lim) || Object.values(lim).some((x) => typeof x !== 'number'))) {
    err('providerAccessLimits', 'must be a map of names to numbers');
  }
  if (errors.length) return { errors };
  const status: CentreStatus = {
    id, provider, location,
    cpuCores: nums.cpuCores!, memoryGb: nums.memoryGb!, diskGb: nums.diskGb!, vmCount: nums.vmCount!,
    vmSpeedMBps: nums.vmSpeedMBps!, vmPricePerHour: nums.vmPricePerHour!, uplinkPricePerGB: nums.uplinkPricePerGB!,
    vmBandwidthMBps: nums.vmBandwidthMBps!, vmStorageMB: nums.vmStorageMB!,
    accessForm: accessForm as AccessForm, lat: lat as number, lng: lng as number, state: state as CentreState,
  };
  if (up !== undefined) status.locationUplinkMbps = up as number;
  if (lim !== undefined) status.providerAccessLimits = lim as Record<string, number>;
  return { status, errors };
}

export function readStatusFile(file: string): { status?: CentreStatus; errors: StatusFieldError[] } {
  let doc: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    doc = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (e) {
    return { errors: [{ file, field: '(file)', message: `cannot parse: ${(e as Error).message.split('\n')[0]}` }] };
  }
  return parseCentreStatus(doc, file);
}

export function createDirectory(): Directory {
  return { version: 1, updatedAt: new Date(0).toISOString(), providers: [] };
}

export function loadDirectory(file: string): Directory {
  if (!existsSync(file)) return createDirectory();
  const d = JSON.parse(readFileSync(file, 'utf8')) as Directory;
  if (d.version !== 1 || !Array.isArray(d.providers)) throw new CabinError('CABIN_BAD_STATUS_FILE', `${file}: not a directory store (version 1)`);
  return d;
}

export function saveDirectory(d: Directory, file: string): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(d, null, 2)}\n`);
  renameSync(tmp, file); // atomic replace: a reader never sees half a file
}

export interface CentreEntry { provider: string; location: string; centre: DirectoryCentre }

export function listCentres(d: Directory): CentreEntry[] {
  const out: CentreEntry[] = [];
  for (const p of d.providers) for (const l of p.locations) for (const c of l.centres) out.push({ provider: p.name, location: l.name, centre: c });
  return out.sort((x, y) => x.centre.id.localeCompare(y.centre.id));
}

export function findCentre(d: Directory, id: string): CentreEntry | undefined {
  return listCentres(d).find((e) => e.centre.id === id);
}

function prune(d: Directory): void {
  for (const p of d.providers) {
    for (const l of p.locations) l.centreCount = l.centres.length;
    p.locations = p.locations.filter((l) => l.centres.length > 0);
  }
  d.providers = d.providers.filter((p) => p.locations.length > 0);
}

export type RegisterOutcome = 'added' | 'updated' | 'unchanged';

export function registerCentre(d: Directory, s: CentreStatus, source?: string, now = new Date()): RegisterOutcome {
  const { provider, providerAccessLimits, location, locationUplinkMbps, ...rest } = s;
  const prev = findCentre(d, s.id);
  const entry: DirectoryCentre = { ...rest, updatedAt: now.toISOString() };
  if (source !== undefined) entry.source = source;
  let outcome: RegisterOutcome = 'added';
  if (prev) {
    const same = prev.provider === provider && prev.location === location &&
      JSON.stringify({ ...prev.centre, updatedAt: 0, source: 0 }) === JSON.stringify({ ...entry, updatedAt: 0, source: 0 });
    outcome = same ? 'unchanged' : 'updated';
    for (const p of d.providers) for (const l of p.locations) l.centres = l.centres.filter((c) => c.id !== s.id);
    if (same) entry.updatedAt = prev.centre.updatedAt; // refresh without change keeps its time
  }
  let p = d.providers.find((x) => x.name === provider);
  if (!p) { p = { name: provider, accessLimits: {}, locations: [] }; d.providers.push(p); d.providers.sort((x, y) => x.name.localeCompare(y.name)); }
  if (providerAccessLimits) p.accessLimits = { ...providerAccessLimits };
  let l = p.locations.find((x) => x.name === location);
  if (!l) { l = { name: location, uplinkMbps: null, centreCount: 0, centres: [] }; p.locations.push(l); p.locations.sort((x, y) => x.name.localeCompare(y.name)); }
  if (locationUplinkMbps !== undefined) l.uplinkMbps = locationUplinkMbps;
  l.centres.push(entry);
  l.centres.sort((x, y) => x.id.localeCompare(y.id));
  prune(d);
  if (outcome !== 'unchanged') d.updatedAt = now.toISOString();
  return outcome;
}

export function withdrawCentre(d: Directory, id: string, now = new Date()): boolean {
  if (!findCentre(d, id)) return false;
  for (const p of d.providers) for (const l of p.locations) l.centres = l.centres.filter((c) => c.id !== id);
  prune(d);
  d.updatedAt = now.toISOString();
  return true;
}

export interface RegisterReport {
  added: string[];
  updated: string[];
  unchanged: string[];
  errors: StatusFieldError[];
}

/** Register every *.json / *.yaml / *.yml in a folder; a bad file is reported and skipped. */
export function registerFolder(d: Directory, folder: string, now = new Date()): RegisterReport {
  const rep: RegisterReport = { added: [], updated: [], unchanged: [], errors: [] };
  let names: string[];
  try {
    names = readdirSync(folder).filter((f) => /\.(json|ya?ml)$/i.test(f)).sort();
  } catch (e) {
    throw new CabinError('CABIN_BAD_STATUS_FILE', `cannot read status folder ${folder}: ${(e as Error).message}`);
  }
  const seen = new Map<string, string>();
  for (const f of names) {
    const file = join(folder, f);
    const { status, errors } = readStatusFile(file);
    if (!status) { rep.errors.push(...errors); continue; }
    const dup = seen.get(status.id);
    if (dup) { rep.errors.push({ file, field: 'id', message: `centre ${status.id} is also described by ${basename(dup)}` }); continue; }
    seen.set(status.id, file);
    rep[registerCentre(d, status, file, now)].push(status.id);
  }
  return rep;
}

/** The allocator's view of the directory: centres that are not down. */
export function centresFromDirectory(d: Directory): CentreParams[] {
  return listCentres(d)
    .filter((e) => e.centre.state !== 'down')
    .map(({ provider, location, centre: c }) => ({
      id: c.id, provider, location,
      vmSpeed: c.vmSpeedMBps, vmPrice: c.vmPricePerHour, uplinkPrice: c.uplinkPricePerGB,
      vmCount: c.vmCount, vmBandwidth: c.vmBandwidthMBps, vmStorage: c.vmStorageMB,
      lat: c.lat, lng: c.lng,
    }));
}

/** Centres straight from a status folder (without a store); bad files throw, naming them. */
export function centresFromFolder(folder: string): CentreParams[] {
  const d = createDirectory();
  const rep = registerFolder(d, folder);
  if (rep.errors.length) {
    throw new CabinError('CABIN_BAD_STATUS_FILE', rep.errors.map((e) => `${e.file}: ${e.field}: ${e.message}`).join('\n'), rep.errors);
  }
  return centresFromDirectory(d);
}
