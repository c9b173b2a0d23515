// The topology layer's error catalogue (src/errors.ts shape): a topology file, an endpoint or
// a replica plan that cannot be used. docs/foundation.md lists the same codes;
// test/errors.test.ts keeps them in step.
import { defineErrors } from '../errors.ts';

const errors = defineErrors('TopologyError', {
  TOPOLOGY_INVALID: { status: 400, retriable: false, message: '%s' },
  ENDPOINT_MISSING: { status: 503, retriable: false, message: '%s' },
  PLAN_INVALID: { status: 400, retriable: false, message: '%s' },
});

export const TOPOLOGY_ERRORS = errors.catalogue;

export type TopologyErrorCode = keyof typeof TOPOLOGY_ERRORS;

/** A topology file that does not validate: every problem with its path. */
export class TopologyError extends errors.Base {
  constructor(readonly problems: string[], source?: string) {
    super('TOPOLOGY_INVALID', [`${source ? `${source}: ` : ''}invalid topology:\n  ${problems.join('\n  ')}`]);
  }
}

/** An endpoint neither the topology nor the local infrastructure provides. */
export class EndpointError extends errors.Base {
  constructor(message: string) {
    super('ENDPOINT_MISSING', [message]);
    this.name = 'EndpointError';
  }
}

/** A replica plan file that cannot be read or does not validate; the message names the field. */
export class PlanError extends errors.Base {
  constructor(message: string) {
    super('PLAN_INVALID', [message]);
    this.name = 'PlanError';
  }
}
