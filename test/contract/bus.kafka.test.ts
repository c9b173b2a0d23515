import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import { isRefusedSync } from '../../src/bus/kafka.ts';
import { busContract } from './bus.contract.ts';
import { randomName, testBus, waitFor } from '../helpers/index.ts';

busContract('kafka (librdkafka mock cluster via kcat)', () => testBus());

// Regression: "two members of one group" stayed at a=[0,1,2,3] b=[] for 48 s. The mock
// cluster's coordinator refuses a follower's SyncGroup that arrives after the leader's
// (INVALID_REQUEST) and kafkajs stopped that consumer for good. Here the first follower
// SyncGroup is held back until the leader's SyncGroup of the same generation has been
// answered, as a stalled follower process would be, so it always arrives late (a fixed
// 300 ms sleep did not guarantee that on a loaded box); the member must rejoin and get its
// share.
describe('kafka consumer group: a follower whose SyncGroup comes after the leader\'s', () => {
  const require = createRequire(import.meta.url);
  const Broker = require('kafkajs/src/broker/index.js') as { prototype: { syncGroup(a: { groupAssignment: unknown[] }): Promise<unknown> } };
  const original = Broker.prototype.syncGroup;
  afterAll(() => {
    Broker.prototype.syncGroup = original;
  });

  it('recognises the refused sync bare (first join) and wrapped by kafkajs\' retrier (a rejoin after a rebalance)', async () => {
    const { KafkaJSProtocolError, KafkaJSNonRetriableError } = require('kafkajs') as typeof import('kafkajs');
    const refused = Object.assign(new KafkaJSProtocolError('malformed'), { type: 'INVALID_REQUEST' });
    refused.stack = 'KafkaJSProtocolError: malformed\n    at async Broker.syncGroup (kafkajs/src/broker/index.js:428:12)';
    expect(isRefusedSync(refused)).toBe(true);
    expect(isRefusedSync(Object.assign(new KafkaJSNonRetriableError(refused), { cause: refused }))).toBe(true);
    const elsewhere = Object.assign(new KafkaJSProtocolError('malformed'), { type: 'INVALID_REQUEST' });
    elsewhere.stack = 'KafkaJSProtocolError: malformed\n    at async Broker.fetch (kafkajs/src/broker/index.js:300:12)';
    expect(isRefusedSync(elsewhere)).toBe(false);
    expect(isRefusedSync(new Error('timeout'))).toBe(false);
  });

  it('rejoins and gets partitions instead of staying unassigned', async () => {
    let heldBack = 0;
    let refused = 0;
    const leaderAnswered = new Set<number>();
    Broker.prototype.syncGroup = async function (this: unknown, args: { generationId: number; groupAssignment: unknown[] }) {
      if (args.groupAssignment.length === 0 && heldBack === 0) {
        heldBack++;
        await waitFor(() => leaderAnswered.has(args.generationId), { what: "the leader's SyncGroup", timeoutMs: 45_000, intervalMs: 20 });
      }
      const sent = original.call(this, args);
      if (args.groupAssignment.length > 0) {
        const done = (): void => void leaderAnswered.add(args.generationId);
        sent.then(done, done);
      }
      return sent.catch((err: unknown) => {
        if (isRefusedSync(err)) refused++;
        throw err;
      });
    };
    const bus = testBus();
    try {
      const topic = randomName('contract.latesync');
      const group = randomName('g');
      await bus.ensureTopics([{ topic, partitions: 4 }]);
      const members = [bus.consumer({ groupId: group, topics: [topic] }), bus.consumer({ groupId: group, topics: [topic] })];
      const failures: string[] = [];
      for (const m of members) m.onFailure((e) => failures.push(e.message));
      await Promise.all(members.map((m) => m.run(async () => {})));
      const parts = () => members.map((m) => m.assignment().find((x) => x.topic === topic)?.partitions ?? []);
      await waitFor(() => parts().every((p) => p.length > 0) && parts().flat().length === 4, { what: 'both members assigned', timeoutMs: 45_000 })
        .catch((err: Error) => Promise.reject(new Error(`${err.message}; assignments: ${JSON.stringify(parts())}; failures: ${failures.join('; ')}`, { cause: err })));
      expect(heldBack).toBe(1);
      expect(refused).toBe(1);
      expect(failures).toEqual([]);
      expect(parts().flat().sort()).toEqual([0, 1, 2, 3]);
      await Promise.all(members.map((m) => m.stop()));
    } finally {
      Broker.prototype.syncGroup = original;
      await bus.close();
    }
  });
});
