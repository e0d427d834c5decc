import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  containerStream,
  type ImageSummary,
  type RootfsDiskUsage,
  type SystemPruneResult,
} from '@lxr/events';
import type { ImageNodes } from '../images/image-nodes.js';
import { createTestApp, type TestApp } from '../testing/test-app.js';
import type { RootfsNodes } from './rootfs-nodes.js';

const image = (id: string, size: number, containers: number, references: string[] = ['x']): ImageSummary => ({
  id: `sha256:${id.repeat(64)}`,
  references,
  configDigest: `sha256:${'c'.repeat(64)}`,
  platform: 'linux/amd64',
  size,
  layers: 1,
  pulledAt: '2026-11-29T08:00:00.000Z',
  containers,
});

/** A node whose image-puller and rootfs-builder answer from what the test's containers did. */
function fakeNode(app: () => TestApp, calls: string[]) {
  const removed = async () => {
    const log = await app().log();
    return new Set(
      log
        .filter((e) => e.type === 'ContainerRemoved')
        .map((e) => (e as unknown as { data: { containerId: string } }).data.containerId),
    );
  };
  let ids: string[] = [];
  const images: ImageNodes = {
    async list() {
      const users = ids.filter((id) => !removedNow.has(id)).length;
      return [image('a', 1000, users), image('b', 300, 0), image('d', 50, 0, [])];
    },
    async remove(_node, id) {
      calls.push(`rmi ${id.slice(7, 8)}`);
      return { untagged: [], deleted: [id], blobsRemoved: 1, bytesFreed: 300 };
    },
    async prune() {
      calls.push('image prune');
      return { imagesRemoved: [`sha256:${'d'.repeat(64)}`], blobsRemoved: 1, bytesFreed: 50 };
    },
  };
  let removedNow = new Set<string>();
  const rootfs: RootfsNodes = {
    async df(): Promise<RootfsDiskUsage> {
      removedNow = await removed();
      return {
        layers: [
          { diffId: `sha256:${'1'.repeat(64)}`, size: 5000, containers: 2, images: 1 },
          { diffId: `sha256:${'2'.repeat(64)}`, size: 700, containers: 0, images: 1 },
        ],
        containers: ids
          .filter((id) => !removedNow.has(id))
          .map((containerId, i) => ({ containerId, size: 10 * (i + 1) })),
        volumes: [
          {
            name: 'data',
            driver: 'local',
            mountpoint: '/v/data/_data',
            createdAt: '2026-11-29T08:00:00.000Z',
            labels: {},
            anonymous: false,
            containers: [],
            size: 64,
          },
        ],
      };
    },
    async prune(_node, options) {
      calls.push(`rootfs prune ${JSON.stringify(options)}`);
      return {
        layersRemoved: 1,
        bytesFreed: 700,
        ...(options.volumes ? { volumes: { removed: ['data'], reclaimedBytes: 64 } } : {}),
      };
    },
  };
  return { images, rootfs, setContainers: (list: string[]) => (ids = list) };
}

async function setUp() {
  const calls: string[] = [];
  let t: TestApp | undefined;
  const node = fakeNode(() => t!, calls);
  t = await createTestApp({ images: node.images, rootfs: node.rootfs });
  const make = async (name: string) => {
    const res = await t!.create({ image: 'busybox', name });
    assert.equal(res.statusCode, 201, res.body);
    return (res.json() as { id: string }).id;
  };
  const running = await make('up');
  const exited = await make('down');
  for (const [id, exit] of [
    [running, false],
    [exited, true],
  ] as const) {
    await t.store.append(containerStream(id), 'any', [
      {
        type: 'ContainerStarted',
        correlationId: id,
        data: {
          containerId: id,
          node: 'node-1',
          pid: 42,
          netnsPath: '/run/netns/x',
          cgroup: '/lxr/x',
          startedAt: '2026-11-29T08:00:00.000Z',
          attempt: 1,
        },
      },
      ...(exit
        ? [
            {
              type: 'ContainerExited',
              correlationId: id,
              data: {
                containerId: id,
                node: 'node-1',
                code: 0,
                signal: null,
                oomKilled: false,
                finishedAt: '2026-11-29T08:00:01.000Z',
                attempt: 1,
              },
            },
          ]
        : []),
    ]);
  }
  node.setContainers([running, exited]);
  return { t, calls, running, exited };
}

describe('system routes', () => {
  it('GET /v1/system/df sums images, containers, volumes and layers as docker does', async () => {
    const { t } = await setUp();
    const res = await t.request({ method: 'GET', url: '/v1/system/df' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), {
      images: { total: 3, active: 1, size: 1350, reclaimable: 350 },
      // The running container wrote 10 bytes, the exited one 20.
      containers: { total: 2, active: 1, size: 30, reclaimable: 20 },
      volumes: { total: 1, active: 0, size: 64, reclaimable: 64 },
      layers: { total: 2, active: 1, size: 5700, reclaimable: 700 },
    });
  });

  it('POST /v1/system/prune removes stopped containers, then dangling images and unused layers', async () => {
    const { t, calls, running, exited } = await setUp();
    const res = await t.request({ method: 'POST', url: '/v1/system/prune', payload: {} });
    assert.equal(res.statusCode, 200, res.body);
    const result = res.json() as SystemPruneResult;
    assert.deepEqual(result.containersDeleted, [exited]);
    assert.deepEqual(result.imagesDeleted, [`sha256:${'d'.repeat(64)}`]);
    assert.equal(result.layersDeleted, 1);
    assert.deepEqual(result.volumesDeleted, []);
    assert.equal(result.spaceReclaimed, 20 + 50 + 700);
    assert.deepEqual(calls, ['image prune', 'rootfs prune {"volumes":false,"all":false}']);
    const removed = (await t.log()).filter((e) => e.type === 'ContainerRemoved');
    assert.equal(removed.length, 1);
    const list = await t.request({ method: 'GET', url: '/v1/containers?all=true' });
    assert.deepEqual(
      (list.json() as { id: string }[]).map((c) => c.id),
      [running],
    );
  });

  it('prune -a --volumes also removes every unused image and the unused volumes', async () => {
    const { t, calls } = await setUp();
    const res = await t.request({
      method: 'POST',
      url: '/v1/system/prune',
      payload: { all: true, volumes: true },
    });
    assert.equal(res.statusCode, 200, res.body);
    const result = res.json() as SystemPruneResult;
    assert.ok(!calls.includes('rmi a'), 'the image the running container uses stays');
    assert.ok(calls.includes('rmi b') && calls.includes('rmi d'));
    assert.deepEqual(result.volumesDeleted, ['data']);
    assert.ok(calls.includes('rootfs prune {"volumes":true,"all":true}'));
  });

  it('answers 503 naming the rootfs-builder when it does not answer', async () => {
    const t = await createTestApp({
      rootfs: {
        df: () => Promise.reject(new Error('no responders')),
        prune: () => Promise.reject(new Error('x')),
      },
      images: {
        list: async () => [],
        remove: () => Promise.reject(new Error('x')),
        prune: () => Promise.reject(new Error('x')),
      },
    });
    const res = await t.request({ method: 'GET', url: '/v1/system/df' });
    assert.equal(res.statusCode, 503);
    assert.match(res.body, /rootfs-builder of node node-1 did not answer/);
  });
});
