import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startHeartbeat } from '@lxr/service-kit';
import { type NatsServer, startNats } from '@lxr/testkit';
import { connect, type NatsConnection } from 'nats';
import { natsNodeDirectory } from './nats-node-directory.js';

let server: NatsServer;
let nc: NatsConnection;
before(async () => {
  server = await startNats();
  nc = await connect({ servers: server.url });
});
after(async () => {
  await nc?.close();
  await server?.dispose();
});

describe('natsNodeDirectory', () => {
  it('is empty before any heartbeat, then lists nodes alive by their executor', async () => {
    const directory = natsNodeDirectory(nc);
    assert.deepEqual(await directory.list(), []);
    const beats = await Promise.all([
      startHeartbeat(nc, { node: 'n1', service: 'executor', version: '1', perNode: true }),
      startHeartbeat(nc, { node: 'n1', service: 'image-puller', version: '1', perNode: true }),
      startHeartbeat(nc, { node: 'n2', service: 'image-puller', version: '1', perNode: true }),
    ]);
    const nodes = await directory.list();
    assert.deepEqual(
      nodes.map((n) => [n.name, n.alive, n.services.map((s) => s.name)]),
      [
        ['n1', true, ['executor', 'image-puller']],
        ['n2', false, ['image-puller']],
      ],
    );
    assert.ok(nodes[0]?.lastSeen);
    assert.equal(nodes[1]?.lastSeen, null);
    await Promise.all(beats.map((b) => b.stop()));
    assert.deepEqual(await directory.list(), [], 'stopped heartbeats are deleted');
  });
});
