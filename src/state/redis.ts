// Vehicle state in Redis (ioredis). A whole request's observations go in ONE script call:
// one round trip, applied atomically and in order (DESIGN.md §3).
//   iov:v:<vehicleId>   hash { q: "<ts>|<lat>|<lng>|<segment>",   (the state, one field)
//                              w: token of the call that wrote q,
//                              d<dedupKey>: "<expiry epoch ms>:<token>", ...  (reservations)
//                              x: upkeep due (epoch ms), p: prune threshold, h: padding }
//   iov:c:<token>       "1", PX horizon: the call <token> committed (its records were acked)
// Several gateway processes share this state with no sticky routing (docs/gateway.md,
// "Several gateways"). A reservation binds (makes a duplicate) only once its call committed;
// until then any other call may take it over, so a retry never waits on, or is lost to, an
// attempt that failed or died on another gateway. A rollback is a compare-and-set: it gives
// back q and reservations only where they still carry its own token.
// The state is one packed field: a request's vehicle costs an HMGET of 3 fields and an HSET
// of 2 (was 6 and 5 with one field per value), and the reply carries one string per packet.
// ts, lat and lng are numbers, so the segment goes last and may contain anything. Hashes
// written by the earlier layout (s: segment, t: ts, a: lat, o: lng) are read as such and
// rewritten in the packed form at their vehicle's next state change (docs/gateway.md).
// A vehicle's dedup entries live in its own hash (not one key per packet): a packet costs no
// key creation and no per-key expiry, and a request's packets of one vehicle touch one key
// with two commands (HMGET, HSET) however many they are. An entry is live while its expiry
// is in the future (Redis TIME), so the horizon holds exactly whatever the key's TTL.
// Upkeep, at most once per min(60 s, T/10) per vehicle: the key's TTL is set to
// T = max(stateTtl, horizon) (+ that period) after the vehicle's last packet, and expired
// entries are pruned when the hash holds more fields than twice its live count at the last
// prune (at least 64): bounded memory, amortised O(1) per packet.
// Numbers travel as strings: Lua 5.1 would print large ts values in exponent form.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { StateError, type Observation, type ObserveOptions, type ObserveResult, type Settlement, type VehicleRecord, type VehicleState } from './types.ts';

/** One observe() call, kept for its settlement: its bytes (off the JS heap) and token. */
interface Call {
  body: Buffer;
  reply: Buffer;
  token: string;
  horizonMs: number;
  /** Whether the call reserved anything (not every observation a duplicate). */
  reserved: boolean;
}

// The whole request travels as ONE argument: a JSON array of strings, three per observation
// (vehicleId, dedupKey, packed state "<ts>|<lat>|<lng>|<segment>"). The answer is ONE bulk
// string, read as bytes: per observation a flag byte (a = advanced the state, k = kept: not
// a duplicate but older than the state, d = duplicate), the packed previous state ('' when
// none) and a newline. With 500 observations that is 2 arguments instead of 1 500 and one
// reply instead of 1 500 array elements: ioredis' per-argument encoding and per-element
// reply parsing were ~5 µs per packet on the client, more than the script itself. Request
// and reply are kept as bytes (off the JS heap) for settle(). Keys are built inside the
// script from the prefix; like before, one request's keys span many slots (single Redis,
// not Cluster). cjson is part of Redis' Lua environment.
// Observations are grouped by vehicle (first-seen order; vehicles are independent, and each
// vehicle's observations are applied in request order).
const OBSERVE = `
local horizon = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local vp = ARGV[3] .. 'v:'
local a = cjson.decode(ARGV[4])
local tok = ARGV[5]
local cp = ARGV[3] .. 'c:'
local tm = redis.call('TIME')
local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)
local dexp = string.format('%d', now + horizon) .. ':' .. tok
local keep = 0
if ttl > 0 then keep = math.max(ttl, horizon) end
local every = 60000
if keep > 0 then every = math.min(60000, math.floor(keep / 10)) end
local CH = 1000
-- A value longer than hash-max-listpack-value (64 by default) keeps the hash in hashtable
-- encoding: a dedup check is a lookup that usually misses, and on a listpack a miss scans
-- every field (3.7 us per HMGET+HSET at 5 fields, 11 at 120, vs 2.2 hashed at 600).
local HT = string.rep('h', 72)
local function tsOf(q) return tonumber(string.match(q, '^[^|]*')) end
-- A reservation "<expiry>:<token>" (or "<expiry>" from before tokens: committed):
-- 0 = free (none, or expired), 1 = binding (committed, or made earlier in this call),
-- 2 = live but never committed (in flight elsewhere, failed, or its gateway died).
local function held(d)
  if not d then return 0 end
  local e, t = string.match(d, '^(%d+):?(.*)$')
  if not e or tonumber(e) <= now then return 0 end
  if t == '' or t == tok or redis.call('EXISTS', cp .. t) == 1 then return 1 end
  return 2
end
-- A hash of the earlier layout (s, t, a, o; no q): its state in the packed form.
local function legacy(sk)
  local o = redis.call('HMGET', sk, 's', 't', 'a', 'o')
  if not o[1] then return false end
  return o[2] .. '|' .. o[3] .. '|' .. o[4] .. '|' .. o[1]
end
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
        if tonumber(string.match(all[k+1], '^%d+')) <= now then dead[#dead+1] = all[k] else live = live + 1 end
      end
    end
    if #dead > 0 then chunked('HDEL', sk, dead, nil) end
    redis.call('HSET', sk, 'p', string.format('%d', math.max(64, 2 * live)), 'x', string.format('%d', x), 'h', HT)
  else
    redis.call('HSET', sk, 'x', string.format('%d', x), 'h', HT)
  end
end
local n = #a / 3
-- nxt[i] = the next observation of the same vehicle (most vehicles have one per request).
local last, nxt, done = {}, {}, {}
for i = 1, n do
  local id = a[i*3-2]
  local l = last[id]
  if l then nxt[l] = i end
  last[id] = i
end
local out = {}
for i = 1, n do
  local id = a[i*3-2]
  if not done[id] then
    done[id] = true
    local sk = vp .. id
    local b = i*3-3
    if not nxt[i] then
      -- One observation of this vehicle: HMGET + HSET.
      local f = 'd' .. a[b+2]
      local cur = redis.call('HMGET', sk, 'q', 'x', f, 's')
      local q = cur[1]
      local old = (not q) and cur[4]
      if old then q = legacy(sk) end
      out[b+2] = q or ''
      out[b+3] = '\\n'
      local h = held(cur[3])
      if h == 1 then
        out[b+1] = 'd'
      else
        local nq = a[b+3]
        if (not q) or tsOf(nq) >= tsOf(q) then
          out[b+1] = h == 2 and 'A' or 'a'
          redis.call('HSET', sk, f, dexp, 'q', nq, 'w', tok)
          if old then redis.call('HDEL', sk, 's', 't', 'a', 'o') end
        else
          out[b+1] = h == 2 and 'K' or 'k'
          redis.call('HSET', sk, f, dexp)
        end
        if due(cur[2]) then upkeep(sk) end
      end
    else
      -- Several: one HMGET of the state and every dedup field, the observations applied in
      -- order in Lua, one HSET of the reservations and the final state.
      local idx = {}
      local j = i
      while j do idx[#idx+1] = j; j = nxt[j] end
      local fields = {'q', 'x', 's'}
      local seen = {}
      for _, k in ipairs(idx) do
        local f = 'd' .. a[k*3-1]
        if not seen[f] then seen[f] = true; fields[#fields+1] = f end
      end
      local cur = {}
      chunked('HMGET', sk, fields, cur)
      local q = cur[1]
      local old = (not q) and cur[3]
      if old then q = legacy(sk) end
      local qt = q and tsOf(q)
      local dv = {}
      for k = 4, #fields do dv[fields[k]] = cur[k] end
      local adv = false
      local set = {}
      for _, k in ipairs(idx) do
        local c = k*3-3
        local f = 'd' .. a[c+2]
        out[c+2] = q or ''
        out[c+3] = '\\n'
        local h = held(dv[f])
        if h == 1 then
          out[c+1] = 'd'
        else
          dv[f] = dexp
          set[#set+1] = f
          set[#set+1] = dexp
          local nq = a[c+3]
          local nt = tsOf(nq)
          if (not q) or nt >= qt then
            q, qt = nq, nt
            adv = true
            out[c+1] = h == 2 and 'A' or 'a'
          else
            out[c+1] = h == 2 and 'K' or 'k'
          end
        end
      end
      if #set > 0 then
        if adv then
          set[#set+1] = 'q'; set[#set+1] = q
          set[#set+1] = 'w'; set[#set+1] = tok
        end
        chunked('HSET', sk, set, nil)
        if adv and old then redis.call('HDEL', sk, 's', 't', 'a', 'o') end
        if due(cur[2]) then upkeep(sk) end
      end
    end
  end
end
return table.concat(out)
`;

// Rollback as compare-and-set, in reverse order. Per observation: reserved, advanced, the
// packed state before it ('' = none), the dedup field; ARGV[1] = the call's token. The state
// goes back to what it was before the call only while its writer field still names this
// call (another gateway's later write stands, and so does its crossing decision), and a
// reservation is released only while it is still this call's (another call may have taken
// it over). Never the whole key: the hash holds other requests' entries.
const ROLLBACK = `
local tok = ARGV[1]
local mine = ':' .. tok
local n = #KEYS
local restored = {}
for i = n, 1, -1 do
  local sk = KEYS[i]
  local b = 1 + (i-1)*4
  local reserved, adv, pq, df = ARGV[b+1], ARGV[b+2], ARGV[b+3], ARGV[b+4]
  if adv == '1' and redis.call('HGET', sk, 'w') == tok then
    if pq == '' then redis.call('HDEL', sk, 'q') else redis.call('HSET', sk, 'q', pq) end
    restored[sk] = true
  end
  if reserved == '1' then
    local d = redis.call('HGET', sk, df)
    if d and string.sub(d, -#mine) == mine then redis.call('HDEL', sk, df) end
  end
end
for sk in pairs(restored) do redis.call('HDEL', sk, 'w') end
return n
`;

type RedisWithScripts = Redis & {
  iovObserveBuffer(horizon: string, ttl: string, prefix: string, packed: Buffer, token: string): Promise<Buffer>;
  iovRollback(...args: (string | number)[]): Promise<number>;
};

/** The packed state field: "<ts>|<lat>|<lng>|<segment>" (numbers first: the segment may hold any character but a newline). */
function pack(r: VehicleRecord): string {
  return `${r.ts}|${r.lat}|${r.lng}|${r.segment}`;
}

function unpack(q: string): VehicleRecord {
  const i = q.indexOf('|');
  const j = q.indexOf('|', i + 1);
  const k = q.indexOf('|', j + 1);
  return { segment: q.slice(k + 1), ts: Number(q.slice(0, i)), lat: Number(q.slice(i + 1, j)), lng: Number(q.slice(j + 1, k)) };
}

/**
 * The script's argument, ["<vehicleId>","<dedupKey>","<packed state>",...], as bytes (kept
 * for settle(); built in a function of its own, so nothing but the bytes outlives it).
 */
export function encodeObservations(obs: readonly Observation[]): Buffer {
  const packed: string[] = new Array<string>(obs.length * 3);
  let j = 0;
  for (const x of obs) {
    if (x.segment.includes('\n')) throw new Error(`vehicle state: segment id ${JSON.stringify(x.segment)} contains a newline`);
    packed[j++] = x.vehicleId;
    packed[j++] = x.dedupKey;
    packed[j++] = pack(x);
  }
  return Buffer.from(JSON.stringify(packed), 'utf8');
}

// Reply flags: a = advanced the state, k = kept (older than the state), A / K = the same
// after taking over a reservation nobody committed, d = duplicate.
const FLAG_ADVANCED = 0x61;
const FLAG_KEPT = 0x6b;
const FLAG_ADVANCED_TOOK_OVER = 0x41;
const FLAG_KEPT_TOOK_OVER = 0x4b;
const FLAG_DUPLICATE = 0x64;

/** The script's answer: per observation a flag byte, the packed previous state, a newline. */
export function decodeReply(reply: Buffer, n: number): ObserveResult[] {
  // One string, read with indexOf and charCodeAt: faster than reading the buffer piecewise.
  const s = reply.toString('utf8');
  const out = new Array<ObserveResult>(n);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const flag = s.charCodeAt(pos);
    const nl = s.indexOf('\n', pos + 1);
    if (nl < 0 || (flag !== FLAG_ADVANCED && flag !== FLAG_KEPT && flag !== FLAG_DUPLICATE && flag !== FLAG_ADVANCED_TOOK_OVER && flag !== FLAG_KEPT_TOOK_OVER)) throw new StateError(`redis observe: malformed reply at observation ${i}`);
    let prev: VehicleRecord | undefined;
    if (nl > pos + 1) {
      const a = s.indexOf('|', pos + 1);
      const b = s.indexOf('|', a + 1);
      const c = s.indexOf('|', b + 1);
      if (a < 0 || c < 0 || c > nl) throw new StateError(`redis observe: malformed state in the reply at observation ${i}`);
      // ts: plain digits as this adapter writes them (anything else through Number).
      let ts = 0;
      let k = pos + 1;
      for (; k < a; k++) {
        const d = s.charCodeAt(k) - 48;
        if (d < 0 || d > 9) break;
        ts = ts * 10 + d;
      }
      if (k < a || a === pos + 1) ts = Number(s.slice(pos + 1, a));
      prev = { segment: s.slice(c + 1, nl), ts, lat: Number(s.slice(a + 1, b)), lng: Number(s.slice(b + 1, c)) };
    }
    out[i] = {
      duplicate: flag === FLAG_DUPLICATE,
      advanced: flag === FLAG_ADVANCED || flag === FLAG_ADVANCED_TOOK_OVER,
      prev,
      tookOver: flag === FLAG_ADVANCED_TOOK_OVER || flag === FLAG_KEPT_TOOK_OVER,
    };
    pos = nl + 1;
  }
  if (pos !== s.length) throw new StateError(`redis observe: reply has ${s.length - pos} characters after ${n} observations`);
  return out;
}

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
  // Call tokens: unique across processes (random instance id) and calls (counter); never
  // hold ':' (the reservation's separator). The instance id is random rather than derived
  // from the host and pid so that a restarted process can never reuse a dead one's tokens.
  const instance = randomBytes(6).toString('base64url');
  let calls = 0;
  // Each observe() call's request and reply bytes and token, by its results array, for settle().
  const made = new WeakMap<ObserveResult[], Call>();
  // rollback from a call's own bytes: the request's [vehicleId, dedupKey, packed state]
  // triples and the reply's flags and previous states are exactly the rollback's arguments.
  const rollbackRaw = async (call: Call) => {
    const { body, reply } = call;
    const a = JSON.parse(body.toString('utf8')) as string[];
    const keys: string[] = [];
    const argv: string[] = [call.token];
    let pos = 0;
    for (let i = 0; i < a.length; i += 3) {
      const flag = reply[pos]!;
      const nl = reply.indexOf(10, pos + 1);
      const advanced = flag === FLAG_ADVANCED || flag === FLAG_ADVANCED_TOOK_OVER;
      keys.push(sk(a[i]!));
      argv.push(flag === FLAG_DUPLICATE ? '0' : '1', advanced ? '1' : '0', reply.toString('utf8', pos + 1, nl), `d${a[i + 1]!}`);
      pos = nl + 1;
    }
    if (keys.length === 0) return;
    try {
      await redis.iovRollback(keys.length, ...keys, ...argv);
    } catch (err) {
      throw wrap(err, 'rollback');
    }
  };
  const commit = async (call: Call) => {
    if (!call.reserved) return;
    try {
      await redis.set(`${prefix}c:${call.token}`, '1', 'PX', call.horizonMs);
    } catch (err) {
      throw wrap(err, 'commit');
    }
  };
  const wrap = (err: unknown, what: string) => new StateError(`redis ${what}: ${(err as Error).message}`, { cause: err });

  return {
    async observe(obs: Observation[], o: ObserveOptions): Promise<ObserveResult[]> {
      if (obs.length === 0) return [];
      const body = encodeObservations(obs);
      const token = `${instance}.${(++calls).toString(36)}`;
      const horizonMs = Math.max(1, Math.round(o.dedupHorizonMs));
      let reply: Buffer;
      try {
        reply = await redis.iovObserveBuffer(String(horizonMs), String(Math.round(o.stateTtlMs ?? 0)), prefix, body, token);
      } catch (err) {
        throw wrap(err, 'observe');
      }
      const results = decodeReply(reply, obs.length);
      // A copy: the parser's buffers may be reused for later replies.
      made.set(results, { body, reply: Buffer.from(reply), token, horizonMs, reserved: results.some((r) => !r.duplicate) });
      return results;
    },
    settle(_obs: Observation[], results: ObserveResult[]): Settlement {
      const call = made.get(results);
      if (call === undefined) throw new Error('vehicle state: settle() needs the results array an observe() of this adapter returned');
      made.delete(results);
      return { commit: () => commit(call), rollback: () => rollbackRaw(call) };
    },
    async get(ids: string[]) {
      if (ids.length === 0) return [];
      const p = redis.pipeline();
      for (const id of ids) p.hmget(sk(id), 'q', 's', 't', 'a', 'o');
      let res: [Error | null, unknown][] | null;
      try {
        res = await p.exec();
      } catch (err) {
        throw wrap(err, 'get');
      }
      return (res ?? []).map(([err, v]) => {
        if (err) throw wrap(err, 'get');
        const [q, s, t, a, o] = v as (string | null)[];
        if (q !== null && q !== undefined) return unpack(q);
        return s === null || s === undefined ? undefined : { segment: s, ts: Number(t), lat: Number(a), lng: Number(o) };
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
