import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectBus, type NatsBus, RemoteError } from '@lxr/bus';
import { createOutboxRelay, createPostgresEventStore, type PostgresEventStore } from '@lxr/event-store';
import {
  containerStream,
  type EventData,
  type ImageRemoveResult,
  type ImageSummary,
  imageNodeStream,
  imagePullRequestStream,
  imagePullStream,
  imageRequestSubject,
  newContainerId,
  type RecordedEvent,
} from '@lxr/events';
import {
  busyboxRootfs,
  layerFrom,
  type ManagedProcess,
  makeImage,
  pushImage,
  startNats,
  startPostgres,
  startRegistry,
  startService,
  type TestImage,
  type TestRegistry,
  waitFor,
} from '@lxr/testkit';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const node = `node-${process.pid}`;
const cleanups: (() => Promise<unknown>)[] = [];
let store: PostgresEventStore;
let bus: NatsBus;
let registry: TestRegistry;
let image: TestImage;
let home: string;
let service: ManagedProcess;

before(async () => {
  home = await mkdtemp(path.join(tmpdir(), 'lxr-image-puller-'));
  cleanups.push(() => rm(home, { recursive: true, force: true }));
  const [postgres, nats, reg] = await Promise.all([
    startPostgres({ fsync: false }),
    startNats(),
    startRegistry(),
  ]);
  registry = reg;
  cleanups.push(
    () => postgres.dispose(),
    () => nats.dispose(),
    () => reg.dispose(),
  );
  store = createPostgresEventStore({ connectionString: postgres.url });
  await store.migrate();
  cleanups.push(() => store.close());
  bus = await connectBus({ servers: nats.url, name: 'image-puller-test' });
  await bus.ensureStreams();
  cleanups.push(() => bus.close());
  const relay = createOutboxRelay({
    connectionString: postgres.url,
    publish: (e, c) => bus.publish(e, c),
    pollIntervalMs: 200,
  });
  await relay.start();
  cleanups.push(() => relay.stop());
  image = makeImage([await layerFrom(busyboxRootfs, 'gzip')], { cmd: ['sh', '-c', 'echo hi'] });
  await pushImage(registry.host, 'test/busybox', '1', image);

  service = await startService(
    MAIN,
    path.join(home, 'image-puller.log'),
    {
      ...process.env,
      LXR_HOME: home,
      LXR_NATS_URL: nats.url,
      LXR_DATABASE_URL: postgres.url,
      LXR_NODE_NAME: node,
      LXR_PULL_PROGRESS_MS: '50',
    },
    'the image-puller',
  );
  cleanups.push(() => service.stop(5_000));
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

async function requestContainer(reference: string, onNode = node): Promise<string> {
  const id = newContainerId();
  const data: EventData<'ContainerRequested'> = {
    containerId: id,
    name: `c-${id.slice(0, 8)}`,
    image: reference,
    node: onNode,
    env: [],
    labels: {},
    ide: false,
    resources: {},
  };
  await store.append(containerStream(id), 'no-stream', [
    { type: 'ContainerRequested', data, correlationId: id },
  ]);
  return id;
}

async function outcome(pullId: string): Promise<RecordedEvent> {
  let found: RecordedEvent | undefined;
  await waitFor(
    async () => {
      found = (await store.readStream(imagePullStream(pullId))).find(
        (e) => e.type === 'ImagePulled' || e.type === 'ImagePullFailed',
      );
      return found !== undefined;
    },
    `the outcome of pull ${pullId.slice(0, 12)}`,
    30_000,
    50,
  );
  return found!;
}

test('ContainerRequested for this node pulls the image and records ImagePulled; other nodes’ are ignored', async () => {
  const other = await requestContainer(`${registry.host}/test/busybox:1`, 'some-other-node');
  const id = await requestContainer(`${registry.host}/test/busybox:1`);
  const pulled = await outcome(id);
  assert.equal(pulled.type, 'ImagePulled');
  const data = pulled.data as EventData<'ImagePulled'>;
  assert.equal(data.containerId, id);
  assert.equal(data.node, node);
  assert.equal(data.reference, `${registry.host}/test/busybox:1`);
  assert.equal(data.digest, image.digest);
  assert.equal(data.configDigest, image.configDigest);
  assert.deepEqual(
    data.layers.map((l) => [l.digest, l.diffId, l.size]),
    image.layers.map((l) => [l.digest, l.diffId, l.size]),
  );
  assert.deepEqual(data.config.cmd, ['sh', '-c', 'echo hi']);
  assert.equal(pulled.metadata.correlationId, id);
  assert.ok(
    (await readdir(path.join(home, 'images', 'blobs', 'sha256'))).includes(image.layers[0]!.digest.slice(7)),
  );
  assert.equal((await store.readStream(imagePullStream(other))).length, 0);

  // Present now: the next container's pull answers from the store.
  const second = await requestContainer(`${registry.host}/test/busybox:1`);
  assert.equal(((await outcome(second)).data as EventData<'ImagePulled'>).cached, true);
});

test('bad references and missing images end in ImagePullFailed with their reason', async () => {
  const bad = await requestContainer('Not A Reference');
  const missing = await requestContainer(`${registry.host}/test/nothing:1`);
  const [b, m] = await Promise.all([outcome(bad), outcome(missing)]);
  assert.equal(b.type, 'ImagePullFailed');
  assert.equal((b.data as EventData<'ImagePullFailed'>).reason, 'invalid-reference');
  assert.equal(m.type, 'ImagePullFailed');
  assert.equal((m.data as EventData<'ImagePullFailed'>).reason, 'not-found');
  assert.match((m.data as EventData<'ImagePullFailed'>).message, /test\/nothing/);
});

test('an explicit pull request, then list and remove through request/reply', async () => {
  const pullId = 'pull-0001';
  const data: EventData<'ImagePullRequested'> = {
    pullId,
    reference: `${registry.host}/test/busybox:1`,
    node,
    platform: 'linux/amd64',
  };
  await store.append(imagePullRequestStream(pullId), 'no-stream', [
    { type: 'ImagePullRequested', data, correlationId: pullId },
  ]);
  const pulled = await outcome(pullId);
  assert.equal(pulled.type, 'ImagePulled');
  assert.equal((pulled.data as EventData<'ImagePulled'>).containerId, undefined);

  const list = await bus.request<ImageSummary[]>(imageRequestSubject(node, 'list'), {});
  const listed = list.find((i) => i.id === image.digest);
  assert.ok(listed, 'the image is listed');
  assert.deepEqual(listed.references, [`${registry.host}/test/busybox:1`]);
  assert.ok(listed.containers >= 1);

  // Containers use it: refused, then removed once they are gone.
  await assert.rejects(
    bus.request(imageRequestSubject(node, 'remove'), { image: `${registry.host}/test/busybox:1` }),
    (e: unknown) => e instanceof RemoteError && e.remoteCode === 'OCI_IMAGE_IN_USE',
  );
  const forced = await bus.request<ImageRemoveResult>(imageRequestSubject(node, 'remove'), {
    image: `${registry.host}/test/busybox:1`,
    force: true,
  });
  assert.deepEqual(forced.deleted, [image.digest]);
  assert.ok(forced.blobsRemoved >= 3, 'manifest, config and layer went');
  assert.deepEqual(await readdir(path.join(home, 'images', 'blobs', 'sha256')), []);
  const removed = (await store.readStream(imageNodeStream(node))).at(-1)!;
  assert.equal(removed.type, 'ImageRemoved');
  await assert.rejects(
    bus.request(imageRequestSubject(node, 'remove'), { image: `${registry.host}/test/busybox:1` }),
    (e: unknown) => e instanceof RemoteError && e.remoteCode === 'OCI_IMAGE_NOT_KNOWN',
  );
  const pruned = await bus.request<{ blobsRemoved: number }>(imageRequestSubject(node, 'prune'), {});
  assert.equal(pruned.blobsRemoved, 0);
});
