import { createRedisFence } from '../../src/fence/index.ts';
import { infra, randomName } from '../helpers/index.ts';
import { fenceContract } from './fence.contract.ts';

fenceContract('redis', () => createRedisFence({ url: infra().redis!.url, keyPrefix: `${randomName('t')}:` }));
