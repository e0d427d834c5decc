import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { createInMemoryEventStore } from '@lxr/event-store';
import { imagePullStream, type LxrRecordedEvent } from '@lxr/events';
import { type ImagePuller, type ImageRecord, OciError, type PullOptions } from '@lxr/oci';
import { ContainerUsage } from './container-usage.js';
import { createPullHandler } from './pull-handler.js';

const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const digest = (c: string) => `sha256:${c.repeat(64)}` as const;
const image: ImageRecord = {
  digest: digest('a'),
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { digest: digest('c'), size: 10, mediaType: 'application/vnd.oci.image.config.v1+json' },
  platform: { os: 'linux', architecture: 'amd64' },
  layers: [
    {
      digest: digest('1'),
      diffId: digest('2'),
      size: 100,
      mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    },
  ],
  runtime: { cmd: ['sh'] },
  size: 100,
  pulledAt: '2026-01-01T00:00:00Z',
};
const silent = { info() {}, warn() {}, error() {} };

/** A puller that resolves the image, reports progress in steps and then answers `outcome`. */
function fakePuller(outcome: () => Promise<ImageRecord>, calls: string[]): ImagePuller {
  return {
    async pull(reference: string, options: PullOptions = {}) {
      calls.push(`${reference} ${options.policy}`);
      options.onResolved?.({ digest: image.digest, layers: image.layers });
      for (let done = 0; done <= 100; done += 25) {
        options.onProgress?.({
          reference,
          layers: [{ digest: digest('1'), size: 100, done, state: 'downloading' }],
        });
        await new Promise((r) => setTimeout(r, 15));
      }
      const record = await outcome();
      return {
        reference: `docker.io/library/${reference}:latest`,
        image: record,
        cached: false,
        downloadedBytes: 100,
      };
    },
  } as unknown as ImagePuller;
}

async function setup(outcome: () => Promise<ImageRecord>) {
  const dir = await mkdtemp(path.join(tmpdir(), 'lxr-puller-unit-'));
  dirs.push(dir);
  const store = createInMemoryEventStore();
  const calls: string[] = [];
  const usage = new ContainerUsage(dir);
  const handler = createPullHandler({
    store,
    puller: fakePuller(outcome, calls),
    usage,
    node: 'n1',
    logger: silent,
    progressIntervalMs: 30,
  });
  return { store, calls, usage, handler };
}

const containerId = 'f'.repeat(64);
function requested(node: string): LxrRecordedEvent {
  return {
    type: 'ContainerRequested',
    schemaVersion: 1,
    data: { containerId, name: 'c1', image: 'busybox', node, env: [], labels: {}, ide: false, resources: {} },
    metadata: {
      eventId: '018f0000-0000-7000-8000-000000000001',
      stream: `container-${containerId}`,
      streamVersion: 1,
      position: 1,
      correlationId: containerId,
      causationId: null,
      timestamp: '2026-01-01T00:00:00Z',
    },
  } as LxrRecordedEvent;
}

test('a container on this node: throttled progress, then one ImagePulled; a redelivery records nothing more', async () => {
  const { store, calls, usage, handler } = await setup(async () => image);
  await handler.handle(requested('n1'));
  const events = await store.readStream(imagePullStream(containerId));
  const types = events.map((e) => e.type);
  assert.equal(types.at(-1), 'ImagePulled');
  const progress = types.filter((t) => t === 'ImagePullProgress').length;
  assert.ok(progress >= 1 && progress < 5, `progress throttled: ${progress} of 5 reports recorded`);
  const pulled = events.at(-1)!.data as {
    containerId: string;
    digest: string;
    layers: unknown[];
    config: unknown;
    cached: boolean;
  };
  assert.equal(pulled.containerId, containerId);
  assert.equal(pulled.digest, image.digest);
  assert.deepEqual(pulled.config, { cmd: ['sh'] });
  assert.equal(events.at(-1)!.metadata.causationId, '018f0000-0000-7000-8000-000000000001');
  assert.deepEqual([...(await usage.inUse())], [image.digest]);
  await handler.handle(requested('n1'));
  assert.equal((await store.readStream(imagePullStream(containerId))).length, events.length);
  assert.deepEqual(calls, ['busybox missing']);
});

test('a container on another node is not this node’s to pull', async () => {
  const { store, calls, handler } = await setup(async () => image);
  await handler.handle(requested('other'));
  assert.deepEqual(calls, []);
  assert.equal((await store.readStream(imagePullStream(containerId))).length, 0);
});

test('a failed pull records ImagePullFailed with its reason and code', async () => {
  const { store, handler } = await setup(async () => {
    throw new OciError('OCI_DIGEST_MISMATCH', 'blob sha256:… downloaded with digest sha256:…');
  });
  await handler.handle(requested('n1'));
  const last = (await store.readStream(imagePullStream(containerId))).at(-1)!;
  assert.equal(last.type, 'ImagePullFailed');
  assert.deepEqual(
    { reason: (last.data as { reason: string }).reason, code: (last.data as { code: string }).code },
    { reason: 'digest-mismatch', code: 'OCI_DIGEST_MISMATCH' },
  );
});

test('a container removed before its pull finished does not hold the image', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'lxr-puller-unit-'));
  dirs.push(dir);
  const usage = new ContainerUsage(dir);
  await usage.release(containerId);
  await usage.use(containerId, image.digest);
  assert.deepEqual([...(await usage.inUse())], []);
  await usage.use('e'.repeat(64), image.digest);
  assert.deepEqual(await new ContainerUsage(dir).users(image.digest), ['e'.repeat(64)]);
});

test('an image the event catalog cannot describe fails as invalid-image instead of poisoning the log', async () => {
  const { store, usage, handler } = await setup(async () => ({
    ...image,
    runtime: { labels: { big: 'v'.repeat(70_000) } },
  }));
  await handler.handle(requested('n1'));
  const last = (await store.readStream(imagePullStream(containerId))).at(-1)!;
  assert.equal(last.type, 'ImagePullFailed');
  assert.equal((last.data as { reason: string }).reason, 'invalid-image');
  assert.match((last.data as { message: string }).message, /labels/);
  assert.deepEqual([...(await usage.inUse())], []);
});

test('a container pull records ImagePullResolved (the layers with diffIDs) before anything downloads; lxr pull does not', async () => {
  const { store, handler } = await setup(async () => image);
  await handler.handle(requested('n1'));
  const events = await store.readStream(imagePullStream(containerId));
  assert.equal(events[0]?.type, 'ImagePullResolved');
  assert.deepEqual(events[0]?.data, {
    pullId: containerId,
    reference: 'busybox',
    node: 'n1',
    containerId,
    digest: image.digest,
    layers: image.layers,
  });
  assert.equal(events.filter((e) => e.type === 'ImagePullResolved').length, 1);

  const pullId = '018f0000-0000-7000-8000-0000000000aa';
  await handler.handle({
    type: 'ImagePullRequested',
    schemaVersion: 1,
    data: { pullId, reference: 'busybox', node: 'n1' },
    metadata: { ...requested('n1').metadata, stream: `image-request-${pullId}`, correlationId: pullId },
  } as LxrRecordedEvent);
  const plain = await store.readStream(imagePullStream(pullId));
  assert.equal(plain.at(-1)?.type, 'ImagePulled');
  assert.ok(!plain.some((e) => e.type === 'ImagePullResolved'), 'only containers need it');
});
