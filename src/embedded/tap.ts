// The pipeline's witnesses: a Bus wrapper that records, in produce order, every message the
// gateway wrote (decoded back from Avro — what the segment processors will read), and the
// faults a test can inject to break an invariant on purpose and see the checks fail.
import { partitionOf, type Bus, type ProduceRecord } from '../bus/index.ts';
import { enrichedPacketCodec } from '../schemas/index.ts';
import type { Row, Store } from '../store/index.ts';
import type { OraclePacket } from '../flow/index.ts';

export interface Faults {
  /**
   * Double count on purpose: the old segment's copy of the first boundary crossing is produced
   * as an owned packet (crossing=false), so two clouds count the same packet — the very bug the
   * dual-write rule exists to prevent (DESIGN.md §3).
   */
  doubleCount?: boolean;
  /** Drop one row from the first traffic_flow insert (a lost result). */
  dropFlowRow?: boolean;
}

export interface Tap {
  bus: Bus;
  /** Every produced copy, in per-(topic, partition) produce order, compact. */
  readonly packets: OraclePacket[];
  /** Owned copies produced per segment. */
  readonly ownedBySegment: Map<string, number>;
  readonly produced: number;
  /** Faults that actually fired. */
  readonly fired: string[];
}

/**
 * Wrap `bus` so every acknowledged produce is recorded. Partitions are computed the way both
 * bus adapters place keys (murmur2, as kafkajs' default partitioner), from the live partition
 * count of each topic.
 */
export async function tapBus(bus: Bus, topics: string[], faults: Faults = {}): Promise<Tap> {
  const codec = enrichedPacketCodec();
  const partitions = new Map<string, number>();
  for (const t of topics) partitions.set(t, await bus.partitionCount(t));
  const packets: OraclePacket[] = [];
  const ownedBySegment = new Map<string, number>();
  const fired: string[] = [];
  // Interning keeps millions of recorded copies small: ids and cells repeat a lot.
  const strings = new Map<string, string>();
  const intern = (s: string) => {
    const hit = strings.get(s);
    if (hit !== undefined) return hit;
    strings.set(s, s);
    return s;
  };
  let produced = 0;
  let doubled = false;
  // Calls are recorded in call order (slots), filled when acknowledged: with the gateway's
  // single in-flight produce this is the partition order the consumers see.
  const slots: { recs: ProduceRecord[]; ok: boolean }[] = [];
  const flush = () => {
    while (slots.length && slots[0]!.ok) {
      const { recs } = slots.shift()!;
      for (const r of recs) {
        const p = codec.decode(r.value);
        const n = partitions.get(r.topic) ?? 1;
        packets.push({
          vehicleId: intern(p.vehicleId),
          ts: p.ts,
          speedKmh: p.speedKmh ?? null,
          cell: intern(p.cell),
          segment: intern(p.segment),
          ownerSegment: intern(p.ownerSegment),
          crossing: p.crossing,
          partition: partitionOf(r.key, n),
        });
        if (!p.crossing && p.segment === p.ownerSegment) ownedBySegment.set(p.segment, (ownedBySegment.get(p.segment) ?? 0) + 1);
        produced++;
      }
    }
  };
  const wrapped: Bus = {
    ensureTopics: (s) => bus.ensureTopics(s),
    consumer: (o) => bus.consumer(o),
    partitionCount: (t) => bus.partitionCount(t),
    endOffsets: (t) => bus.endOffsets(t),
    close: () => bus.close(),
    async produce(records) {
      const slot = { recs: records, ok: false };
      slots.push(slot);
      let send = records;
      if (faults.doubleCount && !doubled) {
        const i = records.findIndex((r) => codec.decode(r.value).crossing);
        if (i >= 0) {
          const p = codec.decode(records[i]!.value);
          doubled = true;
          fired.push('doubleCount');
          send = records.slice();
          send[i] = { ...records[i]!, value: codec.encode({ ...p, crossing: false, ownerSegment: p.segment }) };
        }
      }
      try {
        await bus.produce(send);
        slot.ok = true;
      } catch (err) {
        slots.splice(slots.indexOf(slot), 1);
        throw err;
      } finally {
        flush();
      }
    },
  };
  return {
    bus: wrapped,
    packets,
    ownedBySegment,
    get produced() {
      return produced;
    },
    fired,
  };
}

/** A store whose first traffic_flow insert loses one row (only with faults.dropFlowRow). */
export function faultyStore(store: Store, faults: Faults, fired: string[]): Store {
  if (!faults.dropFlowRow) return store;
  let dropped = false;
  return {
    get cloud() {
      return store.cloud;
    },
    get database() {
      return store.database;
    },
    migrate: () => store.migrate(),
    query: <T extends Row = Row>(sql: string, o?: Parameters<Store['query']>[1]) => store.query<T>(sql, o),
    command: (sql) => store.command(sql),
    ping: () => store.ping(),
    close: () => store.close(),
    insert(table, rows) {
      if (!dropped && table === 'traffic_flow' && rows.length > 0) {
        dropped = true;
        fired.push('dropFlowRow');
        return store.insert(table, rows.slice(1));
      }
      return store.insert(table, rows);
    },
  };
}
