import { MemoryCheckpointStore } from './memory-checkpoint.store.js';
import { checkpointStoreConformance } from './test-support/checkpoint-store.conformance.js';

checkpointStoreConformance('memory', async () => ({
  store: new MemoryCheckpointStore(),
  teardown: async () => {},
}));
