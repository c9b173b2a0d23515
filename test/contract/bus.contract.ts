// The Bus interface's spec. Every adapter (Kafka, in-memory) runs this same suite.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { partitionOf, type Bus, type BusMessage } from '../../src/bus/index.ts';
import { randomName, waitFor } from '../helpers/index.ts';

export function busContract(name: string, makeBus: () => Bus | Promise<Bus>): void {
  describe(`Bus contract: ${name}`, () => {
    let bus: Bus;
    beforeAll(async () => {
      bus = await makeBus();
    });
    afterAll(async () => {
      await bus?.close();
    });

    it('produces and consumes with keys, keeping each key in one partition, in order', async () => {
      const topic = randomName('contract.order');
      await bus.ensureTopics([{ topic, partitions: 4 }]);
      expect(await bus.partitionCount(topic)).toBeGreaterThanOrEqual(4);
      const keys = ['veh-a', 'veh-b', 'veh-c', 'veh-d', 'veh-e', 'veh-f'];
      const records = [];
      for (let i = 0; i < 60; i++) {
        const key = keys[i % keys.length]!;
        records.push({ topic, key, value: Buffer.from(`${key}#${i}`), headers: { n: String(i) } });
      }
      await bus.produce(records);
      const got: BusMessage[] = [];
      const c = bus.consumer({ groupId: randomName('g'), topics: [topic] });
      await c.run(async (b) => {
        got.push(...b.messages);
      });
      await waitFor(() => got.length >= 60, { what: '60 messages' });
      await c.stop();
      expect(got).toHaveLength(60);
      const partOf = new Map<string, Set<number>>();
      const seqOf = new Map<string, number[]>();
      for (const m of got) {
        expect(m.topic).toBe(topic);
        const [key, n] = m.value.toString().split('#');
        expect(m.key).toBe(key);
        expect(m.headers.n).toBe(n);
        (partOf.get(key!) ?? partOf.set(key!, new Set()).get(key!)!).add(m.partition);
        (seqOf.get(key!) ?? seqOf.set(key!, []).get(key!)!).push(Number(n));
      }
      const n = await bus.partitionCount(topic);
      for (const key of keys) {
        expect(partOf.get(key)!.size).toBe(1);
        // Kafka's default partitioner (murmur2), what other producers of these topics use.
        expect([...partOf.get(key)!]).toEqual([partitionOf(key, n)]);
        const seq = seqOf.get(key)!;
        expect(seq).toEqual([...seq].sort((a, b) => a - b));
        expect(seq).toHaveLength(10);
      }
      // More than one partition is used for six keys (hash partitioning, not a single log).
      expect(new Set(got.map((m) => m.partition)).size).toBeGreaterThan(1);
      const ends = await bus.endOffsets(topic);
      expect(ends.reduce((s, e) => s + Number(e.offset), 0)).toBe(60);
    });

    it('reports a partition\'s end as one past its last offset, the same in end offsets and in a batch\'s high watermark', async () => {
      // The segment processor compares the offsets it processed with this end (a log that
      // ends below them lost its end: SEG_COMMIT_BEYOND_END), so both adapters must mean the
      // same by it: the offset the next message of the partition will get.
      const topic = randomName('contract.ends');
      await bus.ensureTopics([{ topic, partitions: 4 }]);
      const keys = ['veh-a', 'veh-b', 'veh-c'];
      await bus.produce(keys.flatMap((key, k) => Array.from({ length: 5 + 7 * k }, (_, i) => ({ topic, key, value: Buffer.from(`${key}#${i}`) }))));
      const last = new Map<number, { offset: number; highWatermark: number }>();
      let n = 0;
      const c = bus.consumer({ groupId: randomName('g'), topics: [topic] });
      await c.run(async (b) => {
        n += b.messages.length;
        last.set(b.partition, { offset: Number(b.messages.at(-1)!.offset), highWatermark: Number(b.highWatermark) });
      });
      await waitFor(() => n >= 5 + 12 + 19, { what: 'every message' });
      await c.stop();
      const expected = [0, 1, 2, 3].map((partition) => ({ partition, offset: String(last.has(partition) ? last.get(partition)!.offset + 1 : 0) }));
      expect(await bus.endOffsets(topic)).toEqual(expected);
      for (const [partition, l] of last) expect(l.highWatermark, `partition ${partition}`).toBe(l.offset + 1);
    });

    it('end offsets of a topic nobody has created yet: auto-created, one per partition, all at 0', async () => {
      // The first look at a new topic creates it (4 partitions, the local peer's default);
      // its partitions must be waited for, not read as none.
      const topics = Array.from({ length: 3 }, () => randomName('contract.fresh'));
      const ends = await Promise.all(topics.map((t) => bus.endOffsets(t)));
      for (const e of ends) expect(e).toEqual([0, 1, 2, 3].map((partition) => ({ partition, offset: '0' })));
    });

    it('commits offsets with metadata and a new member of the group resumes from them', async () => {
      const topic = randomName('contract.commit');
      const group = randomName('g');
      await bus.ensureTopics([{ topic, partitions: 4 }]);
      await bus.produce(Array.from({ length: 40 }, (_, i) => ({ topic, key: `k${i % 8}`, value: Buffer.from(String(i)) })));
      const first: BusMessage[] = [];
      const c1 = bus.consumer({ groupId: group, topics: [topic] });
      await c1.run(async (b) => {
        first.push(...b.messages);
      });
      await waitFor(() => first.length >= 40, { what: 'first pass' });
      // Commit, per partition, only up to the first half of what was seen.
      const byPart = new Map<number, BusMessage[]>();
      for (const m of first) (byPart.get(m.partition) ?? byPart.set(m.partition, []).get(m.partition)!).push(m);
      const commits = [...byPart].map(([partition, msgs]) => {
        const half = msgs[Math.floor(msgs.length / 2)]!;
        return { topic, partition, offset: half.offset, metadata: `wm=${partition}:${half.offset}` };
      });
      await c1.commit(commits);
      const committed = await c1.committed(topic);
      expect(committed.map((c) => [c.partition, c.offset, c.metadata])).toEqual(
        commits.sort((a, b) => a.partition - b.partition).map((c) => [c.partition, c.offset, c.metadata]),
      );
      await c1.stop();

      const expected = [...byPart].flatMap(([, msgs]) => msgs.slice(Math.floor(msgs.length / 2)).map((m) => m.value.toString())).sort();
      const second: BusMessage[] = [];
      const c2 = bus.consumer({ groupId: group, topics: [topic] });
      await c2.run(async (b) => {
        second.push(...b.messages);
      });
      await waitFor(() => second.length >= expected.length, { what: 'resume', timeoutMs: 30_000 });
      await new Promise((r) => setTimeout(r, 300));
      await c2.stop();
      expect(second.map((m) => m.value.toString()).sort()).toEqual(expected);
    });

    it('splits partitions between two members of one group, delivering each message once', async () => {
      const topic = randomName('contract.group');
      const group = randomName('g');
      await bus.ensureTopics([{ topic, partitions: 4 }]);
      const a: BusMessage[] = [];
      const b: BusMessage[] = [];
      const ca = bus.consumer({ groupId: group, topics: [topic] });
      const cb = bus.consumer({ groupId: group, topics: [topic] });
      await ca.run(async (x) => {
        a.push(...x.messages);
        await ca.commit([{ topic, partition: x.partition, offset: String(Number(x.messages.at(-1)!.offset) + 1) }]);
      });
      await cb.run(async (x) => {
        b.push(...x.messages);
        await cb.commit([{ topic, partition: x.partition, offset: String(Number(x.messages.at(-1)!.offset) + 1) }]);
      });
      await waitFor(() => ca.assignment().length > 0 && cb.assignment().length > 0 &&
        ca.assignment()[0]!.partitions.length + cb.assignment()[0]!.partitions.length === 4, { what: 'both members assigned', timeoutMs: 40_000 }).catch((err: Error) => {
        // Say where the group was stuck (seen once in a fully loaded CI run, 8 s otherwise).
        throw new Error(`${err.message}; assignments: a=${JSON.stringify(ca.assignment())} b=${JSON.stringify(cb.assignment())}`, { cause: err });
      });
      const pa = ca.assignment()[0]!.partitions;
      const pb = cb.assignment()[0]!.partitions;
      expect(pa.filter((p) => pb.includes(p))).toEqual([]);
      await bus.produce(Array.from({ length: 80 }, (_, i) => ({ topic, key: `veh${i}`, value: Buffer.from(String(i)) })));
      await waitFor(() => a.length + b.length >= 80, { what: '80 messages across the group', timeoutMs: 30_000 });
      await Promise.all([ca.stop(), cb.stop()]);
      const all = [...a, ...b].map((m) => Number(m.value.toString())).sort((x, y) => x - y);
      expect(all).toEqual(Array.from({ length: 80 }, (_, i) => i));
      expect(a.every((m) => pa.includes(m.partition))).toBe(true);
      expect(b.every((m) => pb.includes(m.partition))).toBe(true);
    });

    it('assigns every one of three members a share of four partitions, and the rest take over when one leaves', async () => {
      const topic = randomName('contract.three');
      const group = randomName('g');
      await bus.ensureTopics([{ topic, partitions: 4 }]);
      const members = [0, 1, 2].map(() => bus.consumer({ groupId: group, topics: [topic] }));
      const parts = () => members.map((m) => m.assignment().find((x) => x.topic === topic)?.partitions ?? []);
      // Started together, as N processes of one segment start: they join one generation.
      await Promise.all(members.map((m) => m.run(async () => {})));
      await waitFor(() => parts().every((p) => p.length > 0) && parts().flat().length === 4, { what: 'all three members assigned', timeoutMs: 40_000 })
        .catch((err: Error) => Promise.reject(new Error(`${err.message}; assignments: ${JSON.stringify(parts())}`, { cause: err })));
      expect(parts().flat().sort()).toEqual([0, 1, 2, 3]);
      await members[2]!.stop();
      const rest = () => parts().slice(0, 2);
      await waitFor(() => rest().every((p) => p.length > 0) && rest().flat().length === 4, { what: 'two members take over', timeoutMs: 40_000 })
        .catch((err: Error) => Promise.reject(new Error(`${err.message}; assignments: ${JSON.stringify(rest())}`, { cause: err })));
      expect(rest().flat().sort()).toEqual([0, 1, 2, 3]);
      await Promise.all(members.slice(0, 2).map((m) => m.stop()));
    });
  });
}
