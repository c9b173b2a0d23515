import { createMemoryFence } from '../../src/fence/index.ts';
import { fenceContract } from './fence.contract.ts';

fenceContract('memory', () => createMemoryFence());
