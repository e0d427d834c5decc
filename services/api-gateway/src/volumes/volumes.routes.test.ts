import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VolumeSummary } from '@lxr/events';
import { staticNodeDirectory } from '../nodes/node-directory.js';
import { createTestApp, liveNode } from '../testing/test-app.js';
import type { VolumeNodes } from './volume-nodes.js';

const user = 'a'.repeat(64);
const volume = (name: string, containers: string[] = []): VolumeSummary => ({
  name,
  driver: 'local',
  mountpoint: `/var/lib/lxr/volumes/${name}/_data`,
  createdAt: '2026-11-29T08:00:00.000Z',
  labels: {},
  anonymous: false,
  containers,
});
/** A live node whose rootfs-builder heartbeats. */
const withBuilder = (name: string) => ({
  ...liveNode(name),
  services: [
    ...liveNode(name).services,
    { name: 'rootfs-builder', alive: true, lastSeen: new Date().toISOString() },
  ],
});
const remoteError = (remoteCode: string, message: string) =>
  Object.assign(new Error(message), { remoteCode });

/** node-1 has `data` (used by a container) and `free`; node-2 has `free` only. */
function fakeVolumes(calls: string[] = []): VolumeNodes {
  const has = (node: string, name: string) => name === 'free' || (node === 'node-1' && name === 'data');
  return {
    async create(node, request) {
      calls.push(`create ${node} ${JSON.stringify(request)}`);
      if (request.name === 'bad.') throw remoteError('ROOTFS_VOLUME_INVALID', 'invalid volume name "bad."');
      return { ...volume(request.name ?? 'f'.repeat(64)), labels: { ...request.labels } };
    },
    async list(node) {
      calls.push(`list ${node}`);
      return node === 'node-1' ? [volume('data', [user]), volume('free')] : [volume('free')];
    },
    async inspect(node, name) {
      calls.push(`inspect ${node} ${name}`);
      if (!has(node, name))
        throw remoteError('ROOTFS_VOLUME_NOT_FOUND', `no volume "${name}" on node ${node}`);
      return { ...volume(name), size: 42 };
    },
    async remove(node, name, force) {
      calls.push(`remove ${node} ${name} ${force}`);
      if (name === 'down') throw new Error('no responders on lxr.volumes.node-1.remove');
      if (node === 'node-1' && name === 'data')
        throw remoteError(
          'ROOTFS_VOLUME_IN_USE',
          `volume "data" is in use by container ${user.slice(0, 12)}`,
        );
      if (!has(node, name)) {
        if (force) return { removed: [], reclaimedBytes: 0 };
        throw remoteError('ROOTFS_VOLUME_NOT_FOUND', `no volume "${name}" on node ${node}`);
      }
      return { removed: [name], reclaimedBytes: 7 };
    },
    async prune(node, all) {
      calls.push(`prune ${node} ${all}`);
      return { removed: all ? ['free'] : [], reclaimedBytes: all ? 7 : 0 };
    },
  };
}

const twoNodes = staticNodeDirectory([withBuilder('node-1'), withBuilder('node-2')]);

describe('volume routes', () => {
  it('lists the volumes of every alive node, each with its node', async () => {
    const t = await createTestApp({ volumes: fakeVolumes(), nodes: twoNodes });
    const res = await t.request({ method: 'GET', url: '/v1/volumes' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(
      (res.json() as { name: string; node: string }[]).map((v) => `${v.node}/${v.name}`),
      ['node-1/data', 'node-1/free', 'node-2/free'],
    );
  });

  it('creates a volume on the first node whose rootfs-builder runs, or on the one named', async () => {
    const calls: string[] = [];
    const t = await createTestApp({
      volumes: fakeVolumes(calls),
      nodes: staticNodeDirectory([liveNode('node-0'), withBuilder('node-1')]),
    });
    const res = await t.request({
      method: 'POST',
      url: '/v1/volumes',
      payload: { name: 'data', labels: { team: 'a' } },
    });
    assert.equal(res.statusCode, 201, res.body);
    assert.deepEqual(res.json(), { ...volume('data'), labels: { team: 'a' }, node: 'node-1' });
    assert.deepEqual(calls, ['create node-1 {"name":"data","labels":{"team":"a"}}']);

    const none = await t.request({ method: 'POST', url: '/v1/volumes', payload: { node: 'node-0' } });
    assert.equal(none.statusCode, 503, none.body);
    assert.equal(none.json().code, 'ROOTFS_BUILDER_UNAVAILABLE');
    assert.match(none.json().detail, /no rootfs-builder heartbeats on node node-0/);
  });

  it('refuses a bad volume name before asking any node', async () => {
    const calls: string[] = [];
    const t = await createTestApp({ volumes: fakeVolumes(calls), nodes: twoNodes });
    const bad = await t.request({ method: 'POST', url: '/v1/volumes', payload: { name: '-x' } });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.equal(bad.json().code, 'INVALID_REQUEST');
    const badParam = await t.request({ method: 'GET', url: '/v1/volumes/-x' });
    assert.equal(badParam.statusCode, 400, badParam.body);
    assert.deepEqual(calls, []);
    const remote = await t.request({ method: 'POST', url: '/v1/volumes', payload: { name: 'bad.' } });
    assert.equal(remote.statusCode, 400, remote.body);
    assert.match(remote.json().detail, /invalid volume name "bad\."/);
  });

  it('inspects a volume on the nodes that have it, 404 when none has', async () => {
    const t = await createTestApp({ volumes: fakeVolumes(), nodes: twoNodes });
    const res = await t.request({ method: 'GET', url: '/v1/volumes/data' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), [{ ...volume('data'), size: 42, node: 'node-1' }]);
    const missing = await t.request({ method: 'GET', url: '/v1/volumes/nope' });
    assert.equal(missing.statusCode, 404, missing.body);
    assert.equal(missing.json().code, 'VOLUME_NOT_FOUND');
    assert.match(missing.json().detail, /no node has a volume "nope"/);
  });

  it('refuses to remove a volume in use, even forced, with 409 naming the container', async () => {
    const calls: string[] = [];
    const t = await createTestApp({ volumes: fakeVolumes(calls), nodes: twoNodes });
    for (const query of ['', '?force=true']) {
      const res = await t.request({ method: 'DELETE', url: `/v1/volumes/data${query}` });
      assert.equal(res.statusCode, 409, res.body);
      assert.equal(res.json().code, 'VOLUME_IN_USE');
      assert.match(res.json().detail, /in use by container aaaaaaaaaaaa/);
    }
    const ok = await t.request({ method: 'DELETE', url: '/v1/volumes/free?node=node-2' });
    assert.deepEqual(ok.json(), [{ removed: ['free'], reclaimedBytes: 7, node: 'node-2' }]);
    const gone = await t.request({ method: 'DELETE', url: '/v1/volumes/nope' });
    assert.equal(gone.statusCode, 404, gone.body);
    const forced = await t.request({ method: 'DELETE', url: '/v1/volumes/nope?force=true' });
    assert.equal(forced.statusCode, 200, forced.body);
    const down = await t.request({ method: 'DELETE', url: '/v1/volumes/down?node=node-1' });
    assert.equal(down.statusCode, 503, down.body);
    assert.equal(down.json().code, 'ROOTFS_BUILDER_UNAVAILABLE');
    assert.match(down.json().detail, /the rootfs-builder of node node-1 did not answer/);
  });

  it('prunes every node, named volumes only with all=true', async () => {
    const calls: string[] = [];
    const t = await createTestApp({ volumes: fakeVolumes(calls), nodes: twoNodes });
    const res = await t.request({ method: 'POST', url: '/v1/volumes/prune?all=true' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), [
      { removed: ['free'], reclaimedBytes: 7, node: 'node-1' },
      { removed: ['free'], reclaimedBytes: 7, node: 'node-2' },
    ]);
    await t.request({ method: 'POST', url: '/v1/volumes/prune?node=node-2' });
    assert.deepEqual(calls, ['prune node-1 true', 'prune node-2 true', 'prune node-2 false']);
  });

  it('answers 503 when the gateway has no connection to the rootfs-builders', async () => {
    const t = await createTestApp({ nodes: twoNodes });
    const res = await t.request({ method: 'GET', url: '/v1/volumes' });
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().code, 'ROOTFS_BUILDER_UNAVAILABLE');
  });
});
