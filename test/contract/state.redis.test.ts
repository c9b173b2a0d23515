import { stateContract } from './state.contract.ts';
import { testState } from '../helpers/index.ts';

stateContract('redis', () => testState());
