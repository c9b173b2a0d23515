import { stateContract } from './state.contract.ts';
import { createMemoryState } from '../../src/state/index.ts';

stateContract('memory', () => createMemoryState());
