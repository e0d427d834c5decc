import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ImageSummary, imagePullStream } from '@lxr/events';
import { staticNodeDirectory } from '../nodes/node-directory.js';
import { createTestApp, liveNode } from '../testing/test-app.js';
import type { ImageNodes } from './image-nodes.js';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const summary: ImageSummary = {
  id: digest('a'),
  references: ['docker.io/library/busybox:latest'],
  configDigest: digest('c'),
  platform: 'linux/amd64',
  size: 1000,
  layers: 1,
  pulledAt: '2026-01-01T00:00:00Z',
  containers: 0,
};
/** node-1 with its image-puller heartbeating. */
const nodes = staticNodeDirectory([
  {
    ...liveNode('node-1'),
    services: [
      ...liveNode('node-1').services,
      { name: 'image-puller', alive: true, lastSeen: new Date().toISOString() },
    ],
  },
]);
const remoteError = (remoteCode: string, message: string) =>
  Object.assign(new Error(message), { remoteCode });

function fakeNodes(calls: string[] = []): ImageNodes {
  return {
    async list(node) {
      calls.push(`list ${node}`);
      return [summary];
    },
    async remove(node, image, force) {
      calls.push(`remove ${node} ${image} ${force}`);
      if (image === 'used') throw remoteError('OCI_IMAGE_IN_USE', 'image used is used by container abc');
      if (image === 'nothing') throw remoteError('OCI_IMAGE_NOT_KNOWN', 'no image "nothing" on node node-1');
      if (image === 'down') throw new Error('nothing answers requests on lxr.images.node-1.remove');
      return { untagged: [image], deleted: [digest('a')], blobsRemoved: 3, bytesFreed: 1000 };
    },
    async prune(node) {
      calls.push(`prune ${node}`);
      return { imagesRemoved: [], blobsRemoved: 2, bytesFreed: 10 };
    },
  };
}

describe('image routes', () => {
  it('records a pull request for the node and answers 202 when not waiting', async () => {
    const t = await createTestApp({ images: fakeNodes(), nodes });
    const res = await t.request({
      method: 'POST',
      url: '/v1/images/pull?wait=false',
      payload: { reference: 'busybox', platform: 'linux/arm64' },
    });
    assert.equal(res.statusCode, 202, res.body);
    const { pullId, node } = res.json() as { pullId: string; node: string };
    assert.equal(node, 'node-1');
    const [event] = (await t.log()) as { type: string; data: unknown }[];
    assert.deepEqual(event, {
      ...event,
      type: 'ImagePullRequested',
      data: { pullId, reference: 'busybox', node: 'node-1', platform: 'linux/arm64' },
    });
  });

  it('refuses a pull when no image-puller heartbeats on the node', async () => {
    const t = await createTestApp({ images: fakeNodes() });
    const res = await t.request({
      method: 'POST',
      url: '/v1/images/pull',
      payload: { reference: 'busybox' },
    });
    assert.equal(res.statusCode, 503, res.body);
    assert.equal(res.json().code, 'IMAGE_PULLER_UNAVAILABLE');
    assert.deepEqual(await t.log(), []);
  });

  it('streams progress and the outcome of a pull as NDJSON', async () => {
    const t = await createTestApp({ images: fakeNodes(), nodes });
    // The node's image-puller, played by the test: answers each request it sees in the log.
    const off = t.store.onAppend(() => {
      void (async () => {
        const requested = (await t.log()).find((e) => e.type === 'ImagePullRequested') as
          | { data: { pullId: string } }
          | undefined;
        if (!requested) return;
        const stream = imagePullStream(requested.data.pullId);
        if ((await t.store.streamVersion(stream)) > 0) return;
        const subject = {
          pullId: requested.data.pullId,
          reference: 'docker.io/library/busybox:latest',
          node: 'node-1',
        };
        await t.store.append(stream, 'no-stream', [
          {
            type: 'ImagePullProgress',
            data: { ...subject, layers: [{ digest: digest('1'), size: 10, done: 5 }] },
            correlationId: subject.pullId,
          },
        ]);
        await t.store.append(stream, 1, [
          {
            type: 'ImagePulled',
            data: {
              ...subject,
              digest: digest('a'),
              configDigest: digest('c'),
              platform: { os: 'linux', architecture: 'amd64' },
              layers: [
                {
                  digest: digest('1'),
                  diffId: digest('2'),
                  size: 10,
                  mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
                },
              ],
              config: { cmd: ['sh'] },
              size: 10,
              cached: false,
            },
            correlationId: subject.pullId,
          },
        ]);
      })();
    });
    const res = await t.request({
      method: 'POST',
      url: '/v1/images/pull',
      payload: { reference: 'busybox' },
    });
    off();
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-type'], 'application/x-ndjson');
    const lines = res.body
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; data: { digest?: string } });
    assert.deepEqual(
      lines.map((l) => l.type),
      ['ImagePullRequested', 'ImagePullProgress', 'ImagePulled'],
    );
    assert.equal(lines[2]!.data.digest, digest('a'));
  });

  it('lists images of every alive node, or of one', async () => {
    const calls: string[] = [];
    const t = await createTestApp({ images: fakeNodes(calls), nodes });
    const res = await t.request({ method: 'GET', url: '/v1/images' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), [{ ...summary, node: 'node-1' }]);
    const unknown = await t.request({ method: 'GET', url: '/v1/images?node=elsewhere' });
    assert.equal(unknown.statusCode, 422);
    assert.equal(unknown.json().code, 'UNKNOWN_NODE');
  });

  it('removes by a reference with slashes and a port; node answers become problems', async () => {
    const calls: string[] = [];
    const t = await createTestApp({ images: fakeNodes(calls), nodes });
    const ok = await t.request({
      method: 'DELETE',
      url: `/v1/images/${encodeURIComponent('localhost:5000/a/b:1')}?force=true`,
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(calls, ['remove node-1 localhost:5000/a/b:1 true']);
    assert.equal(ok.json()[0].blobsRemoved, 3);
    const cases: [string, number, string][] = [
      ['used', 409, 'IMAGE_IN_USE'],
      ['nothing', 404, 'IMAGE_NOT_FOUND'],
      ['down', 503, 'IMAGE_PULLER_UNAVAILABLE'],
    ];
    for (const [image, status, code] of cases) {
      const res = await t.request({ method: 'DELETE', url: `/v1/images/${image}` });
      assert.equal(res.statusCode, status, res.body);
      assert.equal(res.json().code, code);
      assert.match(res.headers['content-type'] as string, /problem\+json/);
    }
  });

  it('prunes every alive node; without image-pullers the gateway answers 503', async () => {
    const t = await createTestApp({ images: fakeNodes(), nodes });
    const res = await t.request({ method: 'POST', url: '/v1/images/prune' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), [{ imagesRemoved: [], blobsRemoved: 2, bytesFreed: 10, node: 'node-1' }]);
    const none = await createTestApp();
    assert.equal((await none.request({ method: 'GET', url: '/v1/images' })).statusCode, 503);
  });
});
