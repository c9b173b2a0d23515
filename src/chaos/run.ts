// Pieces of a local multi-process run shared by the chaos demo and bench/scaleout.ts: a
// per-run topology (own databases), free ports, child output, group progress.
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import type { Bus } from '../bus/index.ts';
import type { Supervisor } from '../local/index.ts';
import { clickhouseEndpoint, readLocalState, segmentGroup, segmentTopic, storageClouds, type Topology } from '../topology/index.ts';
import { endOffsets } from './log.ts';

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

/** The topology file of this run: the user's, with each storage cloud's ClickHouse in a database of the run. */
export function runTopology(file: string, topo: Topology, state: ReturnType<typeof readLocalState>, database: string, dir: string): string {
  const raw = parse(readFileSync(file, 'utf8')) as { clouds: { id: string; clickhouse?: { url: string; database: string } }[] };
  const storage = new Set(storageClouds(topo));
  for (const c of raw.clouds) {
    if (!storage.has(c.id)) continue;
    const ep = clickhouseEndpoint(topo, c.id, state);
    c.clickhouse = { ...ep, database: `${ep.database}_${database}` };
  }
  const out = join(dir, 'topology.yaml');
  writeFileSync(out, stringify(raw));
  return out;
}

/** Wait for one stdout line per member matching `line` after `since`. */
export function collectLines(): { on: (name: string, line: string) => void; waitAll: (names: string[], match: RegExp, timeoutMs: number) => Promise<Map<string, string>> } {
  const seen: { name: string; line: string; at: number }[] = [];
  return {
    on: (name, line) => void seen.push({ name, line, at: Date.now() }),
    async waitAll(names, match, timeoutMs) {
      const since = Date.now();
      const deadline = since + timeoutMs;
      for (;;) {
        const got = new Map<string, string>();
        for (const s of seen) if (s.at >= since && match.test(s.line) && names.includes(s.name)) got.set(s.name, s.line);
        if (got.size === names.length) return got;
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

/** Partitions whose group commit is short of the log end ("north/2 17<40"). */
export async function uncommitted(bus: Bus, topo: Topology): Promise<string[]> {
  const out: string[] = [];
  for (const s of topo.segments) {
    const topic = segmentTopic(s.id);
    const ends = await endOffsets(bus, topic);
    const reader = bus.consumer({ groupId: segmentGroup(s.id), topics: [topic] });
    const committed = new Map((await reader.committed(topic)).map((c) => [c.partition, Number(c.offset)]));
    for (const [p, end] of ends) if ((committed.get(p) ?? 0) < end) out.push(`${s.id}/${p} ${committed.get(p) ?? 0}<${end}`);
  }
  return out;
}

export async function allRunning(sups: Supervisor[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (sups.some((s) => s.members().some((m) => m.state !== 'running'))) {
    if (Date.now() > deadline) throw new Error(`processes not all running: ${sups.flatMap((s) => s.members()).map((m) => `${m.name} ${m.state}`).join(', ')}`);
    await sleep(200);
  }
}

