// Pieces of a local multi-process run shared by the chaos demo and bench/scaleout.ts: a
// per-run topology (own databases), free ports, child output, group progress.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { Bus } from '../bus/index.ts';
import { DRAIN_SIGNAL, type Supervisor } from '../local/index.ts';
import { clickhouseEndpoint, readLocalState, segmentGroup, segmentTopic, storageClouds, type Topology } from '../topology/index.ts';
import { endOffsets, type Offsets } from './log.ts';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * The topology file of this run: the user's, with each storage cloud's ClickHouse in a
 * database of the run, and — with `segmentSuffix` — each segment renamed `<id>_<suffix>`, so
 * the run has topics and consumer groups of its own (`iov.seg.<id>_<suffix>.packets`).
 */
export function runTopology(file: string, topo: Topology, state: ReturnType<typeof readLocalState>, database: string, dir: string, segmentSuffix?: string): string {
  const raw = parse(readFileSync(file, 'utf8')) as {
    clouds: { id: string; clickhouse?: { url: string; database: string } }[]; segments: { id: string }[]; defaultSegment?: string;
  };
  const storage = new Set(storageClouds(topo));
  for (const c of raw.clouds) {
    if (!storage.has(c.id)) continue;
    const ep = clickhouseEndpoint(topo, c.id, state);
    c.clickhouse = { ...ep, database: `${ep.database}_${database}` };
  }
  if (segmentSuffix) {
    for (const s of raw.segments) s.id = `${s.id}_${segmentSuffix}`;
    if (raw.defaultSegment) raw.defaultSegment = `${raw.defaultSegment}_${segmentSuffix}`;
  }
  const out = join(dir, 'topology.yaml');
  writeFileSync(out, stringify(raw));
  return out;
}

/** The run's clock, as every line of a run shows it: "t+3.2", seconds since `t0` at `at` (epoch ms). */
export function runClock(t0: number, at = Date.now()): string {
  return `t+${((at - t0) / 1000).toFixed(1)}`;
}

/** A run's event list; `stamp()` is the time since the run began ("t+3.2 s"). Each event is also logged. */
export function runEvents(log: (line: string) => void): { t0: number; events: string[]; stamp: () => string; event: (line: string) => void } {
  const t0 = Date.now();
  const events: string[] = [];
  return {
    t0,
    events,
    stamp: () => `${runClock(t0)} s`,
    event: (line) => {
      events.push(line);
      log(line);
    },
  };
}

/** Wait for one stdout line per member matching `line` after `since`. */
export function collectLines(): {
  on: (name: string, line: string) => void;
  /** `abandon` is polled meanwhile: a reason it returns ends the wait with undefined. */
  waitAll: (names: string[], match: RegExp, timeoutMs: number, abandon?: () => string | undefined) => Promise<Map<string, string>>;
} {
  const seen: { name: string; line: string; at: number }[] = [];
  return {
    on: (name, line) => void seen.push({ name, line, at: Date.now() }),
    async waitAll(names, match, timeoutMs, abandon) {
      const since = Date.now();
      const deadline = since + timeoutMs;
      for (;;) {
        const got = new Map<string, string>();
        for (const s of seen) if (s.at >= since && match.test(s.line) && names.includes(s.name)) got.set(s.name, s.line);
        if (got.size === names.length) return got;
        const why = abandon?.();
        if (why) throw Object.assign(new Error(why), { code: 'WAIT_ABANDONED' });
        if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${match} from ${names.filter((n) => !got.has(n)).join(', ')}`);
        await sleep(100);
      }
    },
  };
}

/** When the supervisor last started a member (a restart changes the groups). */
export function lastChange(sup: Supervisor): number {
  return Math.max(...sup.members().map((m) => m.startedAt));
}

/** Each segment topic's end offsets now. */
export async function topicEnds(bus: Bus, topo: Topology): Promise<Map<string, Offsets>> {
  return new Map(await Promise.all(topo.segments.map(async (s) => [segmentTopic(s.id), await endOffsets(bus, segmentTopic(s.id))] as const)));
}

/** Partitions whose group commit is short of `ends` (default: the log end now) ("north/2 17<40"). */
export async function uncommitted(bus: Bus, topo: Topology, ends?: Map<string, Offsets>): Promise<string[]> {
  const out: string[] = [];
  for (const s of topo.segments) {
    const topic = segmentTopic(s.id);
    const end = ends?.get(topic) ?? await endOffsets(bus, topic);
    const reader = bus.consumer({ groupId: segmentGroup(s.id), topics: [topic] });
    const committed = new Map((await reader.committed(topic)).map((c) => [c.partition, Number(c.offset)]));
    for (const [p, e] of end) if ((committed.get(p) ?? 0) < e) out.push(`${s.id}/${p} ${committed.get(p) ?? 0}<${e}`);
  }
  return out;
}

export async function allRunning(sups: Supervisor[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (sups.some((s) => s.members().some((m) => m.state !== 'running'))) {
    if (Date.now() > deadline) throw new Error(`processes not all running after ${timeoutMs / 1000} s: ${sups.flatMap((s) => s.members()).map((m) => `${m.name} ${m.state}${m.state === 'running' ? '' : ` (pid ${m.pid}, started ${((Date.now() - m.startedAt) / 1000).toFixed(0)} s ago)`}`).join(', ')}`);
    await sleep(200);
  }
}


/**
 * Drain every segment process (SIGUSR2) until each partition of `topo`'s topics is committed
 * to the end of the log: a member that left (killed, expelled) may have held partitions
 * nobody drained in that round, so it repeats after a session timeout. Returns the rounds'
 * summaries.
 */
export async function drainUntilCommitted(
  sup: Pick<Supervisor, 'members' | 'signal'>, lines: ReturnType<typeof collectLines>, bus: Bus, topo: Topology,
  o: { sessionTimeoutMs: number; timeoutMs?: number; onRound?: (line: string) => void },
): Promise<string[]> {
  const names = sup.members().map((m) => m.name);
  const deadline = Date.now() + (o.timeoutMs ?? 240_000);
  const rounds: string[] = [];
  for (let round = 1; ; round++) {
    // Only ready members get the signal: before its ready line a process has no SIGUSR2
    // handler yet, and the signal's default action ends it (sweep seed 16: a process
    // restarted after being fenced was killed by the drain signal, its successor never asked).
    while (sup.members().some((m) => m.state !== 'running')) {
      if (Date.now() > deadline) throw new Error(`drain: processes not all running: ${sup.members().map((m) => `${m.name} ${m.state}`).join(', ')}`);
      await sleep(200);
    }
    const pids = new Map(sup.members().map((m) => [m.name, m.pid]));
    // A member restarted during the round never answers it: the round is void, start again.
    const restarted = () => {
      const m = sup.members().find((x) => x.pid !== pids.get(x.name) || x.state !== 'running');
      return m ? `${m.name} ${m.state === 'running' ? 'restarted' : m.state} during the round` : undefined;
    };
    // What the drain must cover: the log as of the signal. Ticks the gateways write into the
    // quiet partitions afterwards are not data left behind (chasing them took 14 rounds).
    const target = await topicEnds(bus, topo);
    const answers = lines.waitAll(names, /^(drained|drain failed)/, 150_000, restarted);
    for (const n of names) sup.signal(n, DRAIN_SIGNAL);
    let got: Map<string, string>;
    try {
      got = await answers;
    } catch (err) {
      if ((err as { code?: string }).code !== 'WAIT_ABANDONED') throw err;
      const line = `drain ${round}: ${(err as Error).message}; again`;
      rounds.push(line);
      o.onRound?.(line);
      continue;
    }
    const behind = await uncommitted(bus, topo, target);
    const line = `drain ${round}: ${[...got].map(([n, l]) => `${n} ${l}`).join('; ')}${behind.length ? `; not yet committed to the end: ${behind.join(', ')}` : '; every partition committed to where the log ended at the signal'}`;
    rounds.push(line);
    o.onRound?.(line);
    if (behind.length === 0) return rounds;
    // A partition a processor stopped for good (a non-retriable store error) is never drained: say so at once.
    const stopped = [...got].filter(([, l]) => /^drain failed: .*stopped/.test(l));
    if (round >= 3 && stopped.length && rounds.slice(-3).every((r) => stopped.every(([n, l]) => r.includes(`${n} ${l}`)))) {
      throw new Error(`drain: ${stopped.map(([n, l]) => `${n} ${l}`).join('; ')}`);
    }
    if (Date.now() > deadline) throw new Error(`drain: partitions never committed to the end: ${behind.join(', ')}`);
    await sleep(o.sessionTimeoutMs);
  }
}
