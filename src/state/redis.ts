// Vehicle state in Redis (ioredis). A whole request's observations go in ONE script call:
// one round trip, applied atomically and in order (DESIGN.md §3).
//   iov:v:<vehicleId>   hash { s: segment, t: ts ms, a: lat, o: lng,   (the state)
//                              d<dedupKey>: expiry epoch ms, ...       (dedup entries)
//                              x: upkeep due (epoch ms), p: prune threshold, h: padding }
// A vehicle's dedup entries live in its own hash (not one key per packet): a packet costs no
// key creation and no per-key expiry, and a request's packets of one vehicle touch one key
// with two commands (HMGET, HSET) however many they are. An entry is live while its expiry
// is in the future (Redis TIME), so the horizon holds exactly whatever the key's TTL.
// Upkeep, at most once per min(60 s, T/10) per vehicle: the key's TTL is set to
// T = max(stateTtl, horizon) (+ that period) after the vehicle's last packet, and expired
// entries are pruned when the hash holds more fields than twice its live count at the last
// prune (at least 64): bounded memory, amortised O(1) per packet.
// Numbers travel as strings: Lua 5.1 would print large ts values in exponent form.
import { Redis } from 'ioredis';
import { StateError, type Observation, type ObserveOptions, type ObserveResult, type VehicleRecord, type VehicleState } from './types.ts';

// The whole request travels as ONE argument (a JSON array of strings, six per observation:
// vehicleId, dedupKey, ts, segment, lat, lng) and the answer comes back as ONE JSON string
// (six values per observation: dup, adv, prev segment, ts, lat, lng; false when absent).
// With 500 observations that is 2 arguments instead of 3 000 and one bulk reply instead of
// 3 000 array elements: ioredis' per-argument encoding and per-element reply parsing were
// ~5 µs per packet on the client, more than the script itself. Keys are built inside the
// script from the prefix; like before, one request's keys span many slots (single Redis,
// not Cluster). cjson is part of Redis' Lua environment.
// Observations are grouped by vehicle (first-seen order; vehicles are independent, and each
// vehicle's observations are applied in request order).
const OBSERVE = `
local horizon = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local vp = ARGV[3] .. 'v:'
local a = cjson.decode(ARGV[4])
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
local dexp = string.format('%d', now + horizon)
local keep = 0
if ttl > 0 then keep = math.max(ttl, horizon) end
local every = 60000
if keep > 0 then every = math.min(60000, math.floor(keep / 10)) end
local CH = 1000
-- A value longer than hash-max-listpack-value (64 by default) keeps the hash in hashtable
-- encoding: a dedup check is a lookup that usually misses, and on a listpack a miss scans
-- every field (3.7 us per HMGET+HSET at 5 fields, 11 at 120, vs 2.2 hashed at 600).
local HT = string.rep('h', 72)
local function chunked(cmd, key, args, out)
  local n = #args
  for i = 1, n, CH do
    local r = redis.call(cmd, key, unpack(args, i, math.min(n, i + CH - 1)))
    if out then for k = 1, #r do out[#out+1] = r[k] end end
  end
end
-- Field x = when the key's upkeep is next due: with a TTL, the key's expiry (refreshed when
-- it would fall below now + keep, to now + keep + every); without, the next check time.
local function due(x)
  x = tonumber(x) or 0
  if keep > 0 then return x < now + keep end
  return x < now
end
local function upkeep(sk)
  local x = now + every
  if keep > 0 then
    x = now + keep + every
    redis.call('PEXPIREAT', sk, string.format('%d', x))
  end
  -- Prune expired dedup entries when the hash outgrew twice its live count of last time.
  local len = redis.call('HLEN', sk)
  local lim = tonumber(redis.call('HGET', sk, 'p')) or 64
  if len > lim then
    local all = redis.call('HGETALL', sk)
    local dead = {}
    local live = 0
    for k = 1, #all, 2 do
      if string.byte(all[k], 1) == 100 then
        if tonumber(all[k+1]) <= now then dead[#dead+1] = all[k] else live = live + 1 end
      end
    end
    if #dead > 0 then chunked('HDEL', sk, dead, nil) end
    redis.call('HSET', sk, 'p', string.format('%d', math.max(64, 2 * live)), 'x', string.format('%d', x), 'h', HT)
  else
    redis.call('HSET', sk, 'x', string.format('%d', x), 'h', HT)
  end
end
local n = #a / 6
-- nxt[i] = the next observation of the same vehicle (most vehicles have one per request).
local last, nxt, done = {}, {}, {}
for i = 1, n do
  local id = a[i*6-5]
  local l = last[id]
  if l then nxt[l] = i end
  last[id] = i
end
local out = {}
for i = 1, n do
  local id = a[i*6-5]
  if not done[id] then
    done[id] = true
    local sk = vp .. id
    local b = i*6-6
    if not nxt[i] then
      -- One observation of this vehicle: HMGET + HSET.
      local f = 'd' .. a[b+2]
      local cur = redis.call('HMGET', sk, 's', 't', 'a', 'o', 'x', f)
      local stt = cur[2]
      out[b+3] = cur[1] or false
      out[b+4] = stt or false
      out[b+5] = cur[3] or false
      out[b+6] = cur[4] or false
      local d = cur[6]
      if d and tonumber(d) > now then
        out[b+1] = 1
        out[b+2] = 0
      else
        out[b+1] = 0
        local ts = a[b+3]
        if (not stt) or tonumber(ts) >= tonumber(stt) then
          out[b+2] = 1
          redis.call('HSET', sk, f, dexp, 's', a[b+4], 't', ts, 'a', a[b+5], 'o', a[b+6])
        else
          out[b+2] = 0
          redis.call('HSET', sk, f, dexp)
        end
        if due(cur[5]) then upkeep(sk) end
      end
    else
      -- Several: one HMGET of the state and every dedup field, the observations applied in
      -- order in Lua, one HSET of the reservations and the final state.
      local idx = {}
      local j = i
      while j do idx[#idx+1] = j; j = nxt[j] end
      local fields = {'s', 't', 'a', 'o', 'x'}
      local seen = {}
      for _, k in ipairs(idx) do
        local f = 'd' .. a[k*6-4]
        if not seen[f] then seen[f] = true; fields[#fields+1] = f end
      end
      local cur = {}
      chunked('HMGET', sk, fields, cur)
      local st, stt, sa, so = cur[1], cur[2], cur[3], cur[4]
      local dv = {}
      for k = 6, #fields do dv[fields[k]] = cur[k] end
      local adv = false
      local set = {}
      for _, k in ipairs(idx) do
        local c = k*6-6
        local f = 'd' .. a[c+2]
        out[c+3] = st or false
        out[c+4] = stt or false
        out[c+5] = sa or false
        out[c+6] = so or false
        local d = dv[f]
        if d and tonumber(d) > now then
          out[c+1] = 1
          out[c+2] = 0
        else
          dv[f] = dexp
          set[#set+1] = f
          set[#set+1] = dexp
          out[c+1] = 0
          local ts = a[c+3]
          if (not stt) or tonumber(ts) >= tonumber(stt) then
            st, stt, sa, so = a[c+4], ts, a[c+5], a[c+6]
            adv = true
            out[c+2] = 1
          else
            out[c+2] = 0
          end
        end
      end
      if #set > 0 then
        if adv then
          set[#set+1] = 's'; set[#set+1] = st
          set[#set+1] = 't'; set[#set+1] = stt
          set[#set+1] = 'a'; set[#set+1] = sa
          set[#set+1] = 'o'; set[#set+1] = so
        end
        chunked('HSET', sk, set, nil)
        if due(cur[5]) then upkeep(sk) end
      end
    end
  end
end
return cjson.encode(out)
`;

// Reverse order: restore the state where it is still what this call set (rollback of the
// state fields, never of the whole key: the hash holds other requests' dedup entries too),
// and release this call's dedup reservations.
const ROLLBACK = `
local n = #KEYS
for i = n, 1, -1 do
  local sk = KEYS[i]
  local b = (i-1)*8
  local reserved, adv, ts, seg = ARGV[b+1], ARGV[b+2], ARGV[b+3], ARGV[b+4]
  local ps, pt, pa, po = ARGV[b+5], ARGV[b+6], ARGV[b+7], ARGV[b+8]
  local df = ARGV[n*8 + i]
  if adv == '1' then
    local cur = redis.call('HMGET', sk, 's', 't')
    if cur[1] == seg and cur[2] == ts then
      if ps == '' then redis.call('HDEL', sk, 's', 't', 'a', 'o') else redis.call('HSET', sk, 's', ps, 't', pt, 'a', pa, 'o', po) end
    end
  end
  if reserved == '1' then redis.call('HDEL', sk, df) end
end
return n
`;

type RedisWithScripts = Redis & {
  iovObserve(horizon: string, ttl: string, prefix: string, packed: string): Promise<string>;
  iovRollback(...args: (string | number)[]): Promise<number>;
};

export interface RedisStateOptions {
  url: string;
  keyPrefix?: string;
  /** Per-command timeout, ms: a Redis that hangs fails the request instead of stalling it. */
  commandTimeoutMs?: number;
}

export function createRedisState(opts: RedisStateOptions): VehicleState {
  const prefix = opts.keyPrefix ?? 'iov:';
  const redis = new Redis(opts.url, {
    lazyConnect: false,
    enableOfflineQueue: true,
    maxRetriesPerRequest: 1,
    commandTimeout: opts.commandTimeoutMs ?? 2_000,
    connectTimeout: 2_000,
    retryStrategy: (times) => Math.min(100 * times, 1_000),
  }) as RedisWithScripts;
  redis.on('error', () => {
    /* surfaced per command as StateError; ioredis reconnects by itself */
  });
  redis.defineCommand('iovObserve', { lua: OBSERVE, numberOfKeys: 0 });
  redis.defineCommand('iovRollback', { lua: ROLLBACK });
  const sk = (id: string) => `${prefix}v:${id}`;
  const wrap = (err: unknown, what: string) => new StateError(`redis ${what}: ${(err as Error).message}`, { cause: err });
  const rec = (s: unknown, t: unknown, a: unknown, o: unknown): VehicleRecord | undefined =>
    s === null || s === undefined || s === false ? undefined : { segment: String(s), ts: Number(t), lat: Number(a), lng: Number(o) };

  return {
    async observe(obs: Observation[], o: ObserveOptions): Promise<ObserveResult[]> {
      if (obs.length === 0) return [];
      const packed: string[] = new Array<string>(obs.length * 6);
      let j = 0;
      for (const x of obs) {
        packed[j++] = x.vehicleId;
        packed[j++] = x.dedupKey;
        packed[j++] = String(x.ts);
        packed[j++] = x.segment;
        packed[j++] = String(x.lat);
        packed[j++] = String(x.lng);
      }
      let res: (string | number | false)[];
      try {
        const text = await redis.iovObserve(String(Math.max(1, Math.round(o.dedupHorizonMs))), String(Math.round(o.stateTtlMs ?? 0)), prefix, JSON.stringify(packed));
        res = JSON.parse(text) as (string | number | false)[];
      } catch (err) {
        throw wrap(err, 'observe');
      }
      const out: ObserveResult[] = new Array<ObserveResult>(obs.length);
      for (let i = 0; i < obs.length; i++) {
        const b = i * 6;
        out[i] = { duplicate: res[b] === 1, advanced: res[b + 1] === 1, prev: rec(res[b + 2], res[b + 3], res[b + 4], res[b + 5]) };
      }
      return out;
    },
    async rollback(obs: Observation[], results: ObserveResult[]) {
      if (obs.length === 0) return;
      const keys: string[] = [];
      const argv: string[] = [];
      const fields: string[] = [];
      obs.forEach((x, i) => {
        const r = results[i]!;
        keys.push(sk(x.vehicleId));
        fields.push(`d${x.dedupKey}`);
        argv.push(r.duplicate ? '0' : '1', r.advanced ? '1' : '0', String(x.ts), x.segment);
        argv.push(r.prev?.segment ?? '', r.prev ? String(r.prev.ts) : '', r.prev ? String(r.prev.lat) : '', r.prev ? String(r.prev.lng) : '');
      });
      argv.push(...fields);
      try {
        await redis.iovRollback(keys.length, ...keys, ...argv);
      } catch (err) {
        throw wrap(err, 'rollback');
      }
    },
    async get(ids: string[]) {
      if (ids.length === 0) return [];
      const p = redis.pipeline();
      for (const id of ids) p.hmget(sk(id), 's', 't', 'a', 'o');
      let res: [Error | null, unknown][] | null;
      try {
        res = await p.exec();
      } catch (err) {
        throw wrap(err, 'get');
      }
      return (res ?? []).map(([err, v]) => {
        if (err) throw wrap(err, 'get');
        const [s, t, a, o] = v as (string | null)[];
        return rec(s, t, a, o);
      });
    },
    async ping() {
      try {
        await redis.ping();
      } catch (err) {
        throw wrap(err, 'ping');
      }
    },
    async close() {
      redis.disconnect();
    },
  };
}
