// Threaded producer: Bus.produce run in a worker thread (produce-worker.ts, which owns its
// own Kafka Bus), so kafkajs' per-message encoding (~9-10 µs of CPU per message here, the
// largest single cost of the gateway) runs in parallel with HTTP, parsing, validation, H3,
// the state round trip and Avro encoding on the main thread. Records cross the thread
// boundary as one transferred ArrayBuffer per produce call (pack.ts); the promise settles
// with the worker's answer, i.e. after Kafka acknowledged (acks = all) or refused the batch.
// A crashed worker fails its pending calls (BUS_UNAVAILABLE) and is restarted on the next call.
import { Worker } from 'node:worker_threads';
import { BusError, type Bus, type KafkaBusOptions, type ProduceRecord } from '../bus/index.ts';
import { packRecords } from './pack.ts';

export interface ThreadedProducer extends Pick<Bus, 'produce'> {
  close(): Promise<void>;
}

type Answer = { id: number; ok: true } | { id: number; ok: false; code: BusError['code']; message: string; retriable: boolean } | { closed: true };

export function createThreadedProducer(kafka: KafkaBusOptions): ThreadedProducer {
  let worker: Worker | undefined;
  let nextId = 1;
  const pending = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();
  let closing: Promise<void> | undefined;

  const failAll = (err: BusError) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  const start = (): Worker => {
    const w = new Worker(new URL('./produce-worker.mjs', import.meta.url), {
      workerData: kafka,
      // kafkajs allocates a few hundred bytes per message while batches are in flight for tens
      // of ms: a larger young generation lets them die there instead of being promoted.
      resourceLimits: { maxYoungGenerationSizeMb: 64 },
    });
    w.unref(); // referenced only while calls are pending (see produce)
    w.on('message', (m: Answer) => {
      if ('closed' in m) return;
      const p = pending.get(m.id);
      if (!p) return;
      pending.delete(m.id);
      if (pending.size === 0) w.unref();
      if (m.ok) p.resolve();
      else p.reject(new BusError(m.code, m.message, m.retriable));
    });
    const gone = (why: string) => {
      if (worker === w) worker = undefined;
      failAll(new BusError('BUS_UNAVAILABLE', `produce worker ${why}`, true));
    };
    w.on('error', (err: Error) => gone(`failed: ${err.message}`));
    w.on('exit', (code) => gone(`exited (${code})`));
    return w;
  };

  return {
    produce(records: ProduceRecord[]): Promise<void> {
      if (records.length === 0) return Promise.resolve();
      if (closing) return Promise.reject(new BusError('BUS_UNAVAILABLE', 'produce worker closed', false));
      worker ??= start();
      const w = worker;
      const id = nextId++;
      let packed;
      try {
        packed = packRecords(records);
      } catch (err) {
        return Promise.reject(new BusError('BUS_INVALID', (err as Error).message, false));
      }
      return new Promise<void>((resolve, reject) => {
        if (pending.size === 0) w.ref();
        pending.set(id, { resolve, reject });
        w.postMessage({ id, topics: packed.topics, buf: packed.buf, count: packed.count }, [packed.buf]);
      });
    },
    close() {
      closing ??= (async () => {
        const w = worker;
        if (!w) return;
        w.ref();
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, 5_000);
          w.on('message', (m: Answer) => {
            if ('closed' in m) {
              clearTimeout(t);
              resolve();
            }
          });
          w.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
          w.postMessage({ close: true });
        });
        await w.terminate();
      })();
      return closing;
    },
  };
}
