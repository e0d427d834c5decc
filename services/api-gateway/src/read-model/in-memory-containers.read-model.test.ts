import { createInMemoryEventStore } from '@lxr/event-store';
import { containersReadModelContract } from './containers-read-model.contract.js';
import { createInMemoryContainersReadModel } from './in-memory-containers.read-model.js';

containersReadModelContract('in-memory', async () => {
  const store = createInMemoryEventStore();
  return { store, readModel: createInMemoryContainersReadModel(store), dispose: () => store.close() };
});
