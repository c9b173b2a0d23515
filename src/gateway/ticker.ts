// Watermark ticks (docs/gateway.md, "Watermark ticks"; docs/segment.md, "Quiet partitions").
// Every `intervalMs` a gateway writes a tick — ts = its wall clock − `idleMs` — into every
// partition of every segment topic that got no packet from it during the last interval, so a
// quiet partition's windows still close, decided by the log's contents (replayable), not by a
// processor's clock. A busy partition gets none: its packets move its watermark already.
//
// A tick reaches one partition through the ordinary keyed produce: its key is the first of
// `~tick0`, `~tick1`, … that Kafka's default partitioner (murmur2, `partitionOf`) puts there.
import type { Logger } from 'pino';
import { partitionOf, type Bus, type ProduceRecord } from '../bus/index.ts';
import { tickCodec } from '../schemas/index.ts';

export interface TickerSettings {
  /** How often quiet partitions get a tick, ms (0: no ticker). */
  intervalMs: number;
  /** How far behind the gateway's clock a tick's ts is, ms: the vehicle clock skew and delivery delay absorbed. */
  idleMs: number;
}

export const DEFAULT_TICKER: TickerSettings = { intervalMs: 1000, idleMs: 5000 };

/**
 * The ticker settings of a gateway process: flag, else environment
 * (IOV_GATEWAY_TICK_INTERVAL_MS, IOV_GATEWAY_IDLE_TIMEOUT_MS), else DEFAULT_TICKER.
 * Throws RangeError naming the setting for anything but a non-negative integer.
 */
export function resolveTicker(flags: { tickInterval?: string; idleTimeout?: string }, env: NodeJS.ProcessEnv = process.env): TickerSettings {
  const pick = (flag: string | undefined, name: string, envName: string, dflt: number): number => {
    const raw = flag ?? env[envName];
    if (raw === undefined || raw === '') return dflt;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} (or ${envName}) must be a non-negative integer of ms, got ${JSON.stringify(raw)}`);
    return v;
  };
  return {
    intervalMs: pick(flags.tickInterval, '--tick-interval', 'IOV_GATEWAY_TICK_INTERVAL_MS', DEFAULT_TICKER.intervalMs),
    idleMs: pick(flags.idleTimeout, '--idle-timeout', 'IOV_GATEWAY_IDLE_TIMEOUT_MS', DEFAULT_TICKER.idleMs),
  };
}

export interface TickerOptions extends TickerSettings {
  bus: Pick<Bus, 'produce' | 'partitionCount'>;
  topics: readonly string[];
  gatewayId: string;
  now?: () => number;
  logger?: Pick<Logger, 'warn'>;
}

export interface Ticker {
  /** Wrap the gateway's producer so that packets mark their partitions busy for this interval. */
  wrap(producer: Pick<Bus, 'produce'>): Pick<Bus, 'produce'>;
  /** One round now: ticks for the quiet partitions; resolves with how many were written. */
  tick(): Promise<number>;
  start(): void;
  stop(): Promise<void>;
}

/** The key `partitionOf` puts in partition `p` of `n` (the first of `~tick0`, `~tick1`, …). */
export function tickKey(p: number, n: number): string {
  for (let i = 0; ; i++) if (partitionOf(`~tick${i}`, n) === p) return `~tick${i}`;
}

export function createTicker(o: TickerOptions): Ticker {
  if (!Number.isInteger(o.intervalMs) || o.intervalMs <= 0) throw new RangeError('ticker: intervalMs must be a positive integer');
  if (!Number.isInteger(o.idleMs) || o.idleMs < 0) throw new RangeError('ticker: idleMs must be a non-negative integer');
  const now = o.now ?? Date.now;
  const codec = tickCodec();
  /** topic → the key of each partition (once the partition count is known). */
  const keys = new Map<string, string[]>();
  /**
   * topic → which partitions got a packet since the last round, and how many did. Once every
   * partition of a topic is marked, its records cost no hash until the next round (at a busy
   * gateway that is after a few dozen records per interval).
   */
  const busy = new Map<string, { marked: Uint8Array; count: number }>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<number> | undefined;

  const keysOf = async (topic: string): Promise<string[]> => {
    let k = keys.get(topic);
    if (!k) {
      const n = await o.bus.partitionCount(topic);
      k = Array.from({ length: n }, (_, p) => tickKey(p, n));
      keys.set(topic, k);
    }
    return k;
  };

  const round = async (): Promise<number> => {
    const value = codec.encode({ ts: now() - o.idleMs, gatewayId: o.gatewayId });
    const records: ProduceRecord[] = [];
    for (const topic of o.topics) {
      const k = await keysOf(topic);
      const b = busy.get(topic);
      for (let p = 0; p < k.length; p++) if (!b?.marked[p]) records.push({ topic, key: k[p]!, value });
    }
    for (const b of busy.values()) {
      b.marked.fill(0);
      b.count = 0;
    }
    if (records.length) await o.bus.produce(records);
    return records.length;
  };

  const ticker: Ticker = {
    wrap(producer) {
      return {
        async produce(records) {
          await producer.produce(records);
          for (const r of records) {
            let b = busy.get(r.topic);
            if (!b) {
              const n = keys.get(r.topic)?.length;
              if (n === undefined) continue;
              busy.set(r.topic, (b = { marked: new Uint8Array(n), count: 0 }));
            }
            if (b.count === b.marked.length) continue;
            const p = partitionOf(r.key, b.marked.length);
            if (b.marked[p] === 0) {
              b.marked[p] = 1;
              b.count++;
            }
          }
        },
      };
    },
    tick() {
      running ??= round().finally(() => { running = undefined; });
      return running;
    },
    start() {
      timer ??= setInterval(() => {
        ticker.tick().catch((err: unknown) => o.logger?.warn({ err }, 'gateway: watermark tick not written (retried next interval)'));
      }, o.intervalMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = undefined;
      await running?.catch(() => {});
    },
  };
  return ticker;
}
