import { busContract } from './bus.contract.ts';
import { testBus } from '../helpers/index.ts';

busContract('kafka (librdkafka mock cluster via kcat)', () => testBus());
