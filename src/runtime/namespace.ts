// A bus whose topics and consumer groups live under a prefix, so that one run on shared
// servers never meets another run's messages or committed offsets (`iov demo --local` twice
// on the same Kafka). Components keep their usual names (iov.seg.<id>.packets, iov-seg-<id>);
// only the wire names carry the prefix.
import type { Assignment, Bus, BusConsumer, ConsumedBatch, TopicPartitionOffset } from '../bus/index.ts';

export function namespacedBus(bus: Bus, prefix: string): Bus {
  const wire = (topic: string) => `${prefix}${topic}`;
  const local = (topic: string) => (topic.startsWith(prefix) ? topic.slice(prefix.length) : topic);
  const toLocal = (a: Assignment[]): Assignment[] => a.map((x) => ({ ...x, topic: local(x.topic) }));
  const offsets = (o: TopicPartitionOffset[], f: (t: string) => string) => o.map((x) => ({ ...x, topic: f(x.topic) }));
  return {
    ensureTopics: (specs) => bus.ensureTopics(specs.map((s) => ({ ...s, topic: wire(s.topic) }))),
    produce: (records) => bus.produce(records.map((r) => ({ ...r, topic: wire(r.topic) }))),
    partitionCount: (topic) => bus.partitionCount(wire(topic)),
    endOffsets: (topic) => bus.endOffsets(wire(topic)),
    close: () => bus.close(),
    consumer(opts): BusConsumer {
      const c = bus.consumer({ ...opts, groupId: `${prefix}${opts.groupId}`, topics: opts.topics.map(wire) });
      return {
        run: (handler) => c.run((batch: ConsumedBatch, ctx) => handler({
          ...batch, topic: local(batch.topic), messages: batch.messages.map((m) => ({ ...m, topic: local(m.topic) })),
        }, ctx)),
        commit: (o) => c.commit(offsets(o, wire)),
        committed: async (topic) => offsets(await c.committed(wire(topic)), local),
        assignment: () => toLocal(c.assignment()),
        onAssign: (cb) => c.onAssign((a) => cb(toLocal(a))),
        onFailure: (cb) => c.onFailure(cb),
        pause: (topic, partitions) => c.pause(wire(topic), partitions),
        resume: (topic, partitions) => c.resume(wire(topic), partitions),
        stop: () => c.stop(),
      };
    },
  };
}
