// Dead letters: undecodable messages go to iov.seg.<id>.dlq with their key, value and the
// reason in headers; those below E (commit metadata) were produced already.
import type { BatchResult } from '../flow/index.ts';
import { SegmentError } from './errors.ts';
import { firstAtOrAfter, keyAt, valueAt, type PackedBatch } from './packed.ts';
import { writeDeadline } from './fencing.ts';
import { persist } from './retry.ts';
import type { Pipeline, SegmentRuntime } from './runtime.ts';

export async function sendDeadLetters(rt: SegmentRuntime, pl: Pipeline, msgs: PackedBatch, found: BatchResult['poison'], lastOffset: number): Promise<void> {
  const { segment, topic, dlqTopic } = rt;
  const poison = found.filter((x) => x.offset >= pl.deadLettersFrom);
  if (poison.length) {
    const records = poison.map((x) => {
      const i = firstAtOrAfter(msgs, x.offset);
      const m = { key: keyAt(msgs, i), value: valueAt(msgs, i) };
      rt.log.warn({ partition: pl.partition, offset: x.offset }, new SegmentError('SEG_POISON', [pl.partition, x.offset, dlqTopic, x.reason]).message);
      return {
        topic: dlqTopic,
        key: m.key ?? `${pl.partition}:${x.offset}`,
        value: m.value,
        headers: {
          'iov-error-code': x.code, 'iov-error-reason': x.reason, 'iov-segment': segment,
          'iov-source-topic': topic, 'iov-source-partition': String(pl.partition), 'iov-source-offset': String(x.offset),
        },
      };
    });
    await persist(rt, pl, 'produce to the dead-letter topic', async () => {
      await writeDeadline(rt, pl);
      await rt.bus.produce(records);
    });
    rt.counters.poison += poison.length;
    rt.metrics.poison.inc(rt.labels, poison.length);
  }
  pl.deadLettersFrom = Math.max(pl.deadLettersFrom, lastOffset + 1);
}
