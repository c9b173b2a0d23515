// Worker-thread side of the threaded producer (see producer.ts). Owns a Kafka Bus
// (src/bus, kafkajs) and serves produce calls posted by the gateway's main thread:
//   in : { id, topics: string[], buf: ArrayBuffer, count }  records packed by producer.ts
//   out: { id, ok: true } | { id, ok: false, code, message, retriable }
//   in : { close: true } -> closes the bus and answers { closed: true }
import { parentPort, workerData } from 'node:worker_threads';
import { BusError, createKafkaBus, type KafkaBusOptions, type ProduceRecord } from '../bus/index.ts';
import { unpackRecords } from './pack.ts';

interface ProduceMsg {
  id: number;
  topics: string[];
  buf: ArrayBuffer;
  count: number;
}

const port = parentPort!;
const bus = createKafkaBus(workerData as KafkaBusOptions);

port.on('message', (m: ProduceMsg | { close: true }) => {
  if ('close' in m) {
    void bus.close().finally(() => port.postMessage({ closed: true }));
    return;
  }
  let records: ProduceRecord[];
  try {
    records = unpackRecords(m.topics, Buffer.from(m.buf), m.count);
  } catch (err) {
    port.postMessage({ id: m.id, ok: false, code: 'BUS_UNAVAILABLE', message: `produce worker: ${(err as Error).message}`, retriable: false });
    return;
  }
  bus.produce(records).then(
    () => port.postMessage({ id: m.id, ok: true }),
    (err: unknown) => {
      const e = err instanceof BusError ? err : new BusError('BUS_UNAVAILABLE', (err as Error)?.message ?? String(err), true);
      port.postMessage({ id: m.id, ok: false, code: e.code, message: e.message, retriable: e.retriable });
    },
  );
});
