import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type NatsServer, startNats, waitFor } from '@lxr/testkit';
import { connect, type NatsConnection } from 'nats';
import { heartbeatKey, NODES_BUCKET, startHeartbeat } from './heartbeat.js';
import { listNodes } from './nodes.js';

describe('heartbeats and listNodes', () => {
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

  it('lists nothing before anyone heartbeats, without creating the bucket', async () => {
    assert.deepEqual(await listNodes(nc), []);
    const jsm = await nc.jetstreamManager();
    await assert.rejects(jsm.streams.info(`KV_${NODES_BUCKET}`));
  });

  it('writes <node>.<service>, reports it, and deletes it on stop', async () => {
    const beat = (node: string, service: string, perNode: boolean) =>
      startHeartbeat(nc, { node, service, version: '1.2.3', perNode });
    const executor = await beat('node-a', 'executor', true);
    const puller = await beat('node-a', 'image-puller', true);
    const gateway = await beat('node-b', 'api-gateway', false);
    try {
      assert.equal(executor.key, heartbeatKey('node-a', 'executor'));
      const kv = await nc.jetstream().views.kv(NODES_BUCKET);
      const status = await (await nc.jetstreamManager()).streams.info(`KV_${NODES_BUCKET}`);
      assert.equal(status.config.max_msgs_per_subject, 1);
      assert.equal(status.config.max_age, 15_000 * 1_000_000);
      assert.equal(status.config.storage, 'file');
      const value = (await kv.get('node-a.executor'))!.json<Record<string, unknown>>();
      assert.equal(value['node'], 'node-a');
      assert.equal(value['service'], 'executor');
      assert.equal(value['version'], '1.2.3');
      assert.equal(value['pid'], process.pid);
      assert.equal(value['perNode'], true);
      assert.ok(Date.parse(value['startedAt'] as string) <= Date.parse(value['heartbeatAt'] as string));

      const nodes = await listNodes(nc);
      assert.deepEqual(
        nodes.map((n) => [n.node, n.alive, n.services.map((s) => s.service)]),
        [
          ['node-a', true, ['executor', 'image-puller']],
          // No executor: not a node that can run containers.
          ['node-b', false, ['api-gateway']],
        ],
      );
      assert.ok(nodes[0]!.services.every((s) => s.fresh && s.ageMs < 5_000));
      assert.equal(nodes[0]!.agentLastSeenAt, nodes[0]!.services[0]!.lastSeenAt);
      assert.equal(nodes[1]!.agentLastSeenAt, null);

      // The rule is explicit: stale by the reader's clock means not alive, even before expiry.
      const later = await listNodes(nc.jetstream(), { now: () => Date.now() + 16_000 });
      assert.equal(later[0]!.alive, false);
      assert.ok(later[0]!.services.every((s) => !s.fresh));

      await executor.stop();
      const afterStop = await listNodes(nc);
      assert.deepEqual(
        afterStop.find((n) => n.node === 'node-a')?.services.map((s) => s.service),
        ['image-puller'],
      );
      assert.equal(afterStop.find((n) => n.node === 'node-a')?.alive, false);
    } finally {
      await Promise.all([executor.stop(), puller.stop(), gateway.stop()]);
    }
    assert.deepEqual(await listNodes(nc), []);
  });

  it('refreshes the heartbeat every interval', async () => {
    const heartbeat = await startHeartbeat(nc, {
      node: 'node-r',
      service: 'executor',
      version: '1',
      perNode: true,
      intervalMs: 200,
    });
    try {
      const first = (await listNodes(nc)).find((n) => n.node === 'node-r')!.lastHeartbeatAt;
      await waitFor(
        async () => (await listNodes(nc)).find((n) => n.node === 'node-r')!.lastHeartbeatAt > first,
        'a newer heartbeat',
        5_000,
      );
    } finally {
      await heartbeat.stop();
    }
  });

  it('expires after the TTL when the process dies without stopping', async () => {
    const bucket = 'lxr_nodes_ttl';
    const doomed = await connect({ servers: server.url });
    await startHeartbeat(doomed, {
      node: 'node-x',
      service: 'executor',
      version: '1',
      perNode: true,
      bucket,
      ttlMs: 1_500,
      intervalMs: 500,
    });
    assert.equal((await listNodes(nc, { bucket, staleAfterMs: 1_500 }))[0]?.alive, true);
    // Dies: its connection goes away and nothing deletes the key.
    await doomed.close();
    // Stale first (by the reader's clock), then gone (by the server's expiry); both come quickly.
    await waitFor(
      async () => (await listNodes(nc, { bucket, staleAfterMs: 1_500 }))[0]?.alive !== true,
      'staleness',
      20_000,
    );
    await waitFor(
      async () => (await listNodes(nc, { bucket })).length === 0,
      'the heartbeat to expire',
      20_000,
    );
  });
});
