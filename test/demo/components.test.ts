// The demo loads the other components lazily (so it can report a missing one instead of
// crashing); this keeps its view of their public APIs in step with the real ones.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { loadComponent, type FederationModule, type FlowModule, type GatewayModule, type SegmentModule } from '../../src/embedded/components.ts';
import type * as gateway from '../../src/gateway/index.ts';
import type * as segment from '../../src/segment/index.ts';
import type * as federation from '../../src/federation/index.ts';
import type * as flow from '../../src/flow/index.ts';

describe('components the demo wires', () => {
  it('all load through their index.ts with the exports the pipeline calls', async () => {
    for (const name of ['gateway', 'segment', 'federation', 'flow', 'cabin'] as const) {
      const c = await loadComponent(name);
      expect(c.missing, name).toBeUndefined();
      expect(c.mod, name).toBeDefined();
    }
  });

  it('their signatures fit the shapes the pipeline uses', () => {
    expectTypeOf<ReturnType<typeof gateway.createGateway>['ingest']>().toExtend<ReturnType<GatewayModule['createGateway']>['ingest']>();
    expectTypeOf<ReturnType<typeof segment.createSegmentProcessor>>().toExtend<ReturnType<SegmentModule['createSegmentProcessor']>>();
    expectTypeOf<ReturnType<ReturnType<typeof federation.createFederator>['query']>>().toExtend<ReturnType<ReturnType<FederationModule['createFederator']>['query']>>();
    expectTypeOf<ReturnType<typeof flow.batchTrafficFlow>['rows']>().toExtend<ReturnType<FlowModule['batchTrafficFlow']>['rows']>();
  });

  it('reports a component that is not there instead of throwing', async () => {
    const c = await loadComponent('nope' as 'gateway');
    expect(c.mod).toBeUndefined();
    expect(c.missing).toBe('unknown component "nope"');
  });
});
