// The rootfs-builder as root with real overlay mounts, driven through the event log: images are
// written straight into the node's image store (as the image-puller leaves them) and `ImagePulled`
// is appended as the image-puller would, so every test is about this service alone.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connectBus, type NatsBus } from '@lxr/bus';
import { createOutboxRelay, createPostgresEventStore, type PostgresEventStore } from '@lxr/event-store';
import {
  containerStream,
  type EventData,
  imageNodeStream,
  imagePullStream,
  newContainerId,
  type RecordedEvent,
  type RootfsDiskUsage,
  rootfsRequestSubject,
  rootfsStream,
} from '@lxr/events';
import { type Digest, ImageStore, layerCompression } from '@lxr/oci';
import {
  busyboxRootfs,
  deferred,
  layerFrom,
  type ManagedProcess,
  makeLayer,
  requiresRoot,
  startNats,
  startPostgres,
  startService,
  type TestLayer,
  waitFor,
} from '@lxr/testkit';
import { mountPoints } from './mounts.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const skip = requiresRoot();
const node = `rootfs-node-${process.pid}`;

describe('rootfs-builder', { skip, timeout: 240_000 }, () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  let home: string;
  let store: PostgresEventStore;
  let bus: NatsBus;
  let images: ImageStore;
  let service: ManagedProcess;
  let env: NodeJS.ProcessEnv;
  let imageCount = 0;

  const startBuilder = async () => {
    service = await startService(MAIN, path.join(home, 'rootfs-builder.log'), env, 'the rootfs-builder');
  };

  before(async () => {
    home = await mkdtemp(path.join(tmpdir(), 'lxr-rootfs-'));
    const [postgres, nats] = await Promise.all([startPostgres({ fsync: false }), startNats()]);
    cleanups.push(
      () => postgres.dispose(),
      () => nats.dispose(),
    );
    store = createPostgresEventStore({ connectionString: postgres.url });
    await store.migrate();
    cleanups.push(() => store.close());
    bus = await connectBus({ servers: nats.url, name: 'rootfs-builder-test' });
    await bus.ensureStreams();
    cleanups.push(() => bus.close());
    const relay = createOutboxRelay({
      connectionString: postgres.url,
      publish: (e, c) => bus.publish(e, c),
      pollIntervalMs: 100,
    });
    await relay.start();
    cleanups.push(() => relay.stop());
    images = new ImageStore(path.join(home, 'images'));
    env = {
      ...process.env,
      LXR_HOME: home,
      LXR_NATS_URL: nats.url,
      LXR_DATABASE_URL: postgres.url,
      LXR_NODE_NAME: node,
      LXR_LOG_LEVEL: 'debug',
    };
    await startBuilder();
  });

  after(async () => {
    await service?.stop(5_000);
    // Whatever a failed test left mounted goes before the directories.
    const root = path.join(home, 'rootfs');
    for (const point of await mountPoints()) {
      if (point.startsWith(`${root}/`)) execFileSync('umount', ['-l', point]);
    }
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    await rm(home, { recursive: true, force: true });
  });

  /** Stores an image's blobs and record in the node's image store, as a pull leaves them. */
  async function installImage(layers: readonly TestLayer[]): Promise<EventData<'ImagePulled'>['layers']> {
    const n = ++imageCount;
    for (const layer of layers) {
      await images.blobs.ingest({
        digest: layer.digest as Digest,
        size: layer.size,
        compression: layerCompression(layer.mediaType)!,
        open: async () => ({ body: Readable.from([layer.blob]), offset: 0 }),
      });
    }
    const config = `sha256:${n.toString(16).padStart(64, '0')}` as Digest;
    const digest = `sha256:${(n + 0x1000).toString(16).padStart(64, '0')}` as Digest;
    const records = layers.map((l) => ({
      digest: l.digest as Digest,
      diffId: l.diffId as Digest,
      size: l.size,
      mediaType: l.mediaType,
    }));
    await images.save(
      {
        digest,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { digest: config, size: 2, mediaType: 'application/vnd.oci.image.config.v1+json' },
        platform: { os: 'linux', architecture: 'amd64' },
        layers: records,
        runtime: {},
        size: layers.reduce((s, l) => s + l.size, 0),
        pulledAt: new Date().toISOString(),
      },
      `localhost/test/image${n}:latest`,
    );
    return records;
  }

  /** Appends ContainerRequested and the ImagePulled the image-puller would record for it. */
  const pullSubject = (id: string) => ({
    pullId: id,
    reference: 'localhost/test/image:latest',
    node,
    containerId: id,
  });

  /** Appends the ImagePulled the image-puller would record for a container. */
  async function pulled(id: string, layers: EventData<'ImagePulled'>['layers']): Promise<void> {
    await store.append(imagePullStream(id), 'any', [
      {
        type: 'ImagePulled',
        correlationId: id,
        data: {
          ...pullSubject(id),
          digest: `sha256:${'1'.repeat(64)}`,
          configDigest: `sha256:${'2'.repeat(64)}`,
          platform: { os: 'linux', architecture: 'amd64' },
          layers,
          config: {},
          size: 0,
          cached: false,
        },
      },
    ]);
  }

  /** Appends ContainerRequested and, unless `pull` is false, the ImagePulled of its image. */
  async function requestContainer(
    layers: EventData<'ImagePulled'>['layers'],
    extra: Partial<EventData<'ContainerRequested'>> = {},
    pull = true,
  ): Promise<string> {
    const id = newContainerId();
    await store.append(containerStream(id), 'no-stream', [
      {
        type: 'ContainerRequested',
        correlationId: id,
        data: {
          containerId: id,
          name: `c-${id.slice(0, 8)}`,
          image: 'localhost/test/image:latest',
          node,
          env: [],
          labels: {},
          ide: false,
          resources: {},
          ...extra,
        },
      },
    ]);
    if (pull) await pulled(id, layers);
    return id;
  }

  async function outcome(id: string): Promise<RecordedEvent> {
    let found: RecordedEvent | undefined;
    await waitFor(
      async () => {
        found = (await store.readStream(rootfsStream(id)))[0];
        return found !== undefined;
      },
      `the root filesystem of ${id.slice(0, 12)}`,
      60_000,
      50,
    );
    return found!;
  }

  async function prepared(id: string): Promise<EventData<'RootfsPrepared'>> {
    const event = await outcome(id);
    assert.equal(event.type, 'RootfsPrepared', JSON.stringify(event.data));
    return event.data as EventData<'RootfsPrepared'>;
  }

  async function remove(id: string): Promise<void> {
    const version = (await store.readStream(containerStream(id))).length;
    await store.append(containerStream(id), version, [
      { type: 'ContainerRemoved', correlationId: id, data: { containerId: id, name: `c-${id.slice(0, 8)}` } },
    ]);
  }

  const containerDir = (id: string) => path.join(home, 'rootfs', id);
  const cachedLayers = async () => (await readdir(path.join(home, 'layers', 'sha256'))).sort();
  const hexOf = (l: TestLayer) => l.diffId.slice(7);

  /** A layer of the files `files` (path → content; `null` makes a directory). */
  const filesLayer = (files: Record<string, string | null>) =>
    layerFrom(async (dir) => {
      for (const [name, content] of Object.entries(files)) {
        const file = path.join(dir, name);
        if (content === null) await mkdir(file, { recursive: true });
        else {
          await mkdir(path.dirname(file), { recursive: true });
          await writeFile(file, content);
        }
      }
    }, 'gzip');

  it('stacks three layers with whiteouts and an opaque directory, and removal leaves nothing', async () => {
    const base = await layerFrom(busyboxRootfs, 'gzip');
    const one = await filesLayer({ 'a/file1': '1', 'a/file2': '2', 'dir/x': 'x', 'keep/k': 'k' });
    const two = await filesLayer({ 'a/.wh.file1': '', 'dir/.wh..wh..opq': '', 'dir/y': 'y' });
    const three = await filesLayer({
      'a/.wh.file2': '',
      'a/file3': '3',
      'keep/.wh.k': '',
      'keep/k': 'again',
    });
    const id = await requestContainer(await installImage([base, one, two, three]));
    const data = await prepared(id);
    assert.equal(data.rootfsPath, path.join(containerDir(id), 'm'));
    assert.ok((await mountPoints()).has(data.rootfsPath), 'the overlay is mounted');
    assert.deepEqual((await readdir(path.join(data.rootfsPath, 'a'))).sort(), ['file3']);
    assert.deepEqual(await readdir(path.join(data.rootfsPath, 'dir')), ['y']);
    assert.equal(await readFile(path.join(data.rootfsPath, 'keep/k'), 'utf8'), 'again');
    assert.ok((await stat(path.join(data.rootfsPath, 'bin/busybox'))).isFile());
    assert.deepEqual(data.mounts, [], 'no volumes and no tools bundle: no mounts');

    // Writes go to the container's upper dir, never into the shared layer.
    await writeFile(path.join(data.rootfsPath, 'a', 'new'), 'n');
    assert.ok(!existsSync(path.join(home, 'layers', 'sha256', hexOf(three), 'a', 'new')));

    await remove(id);
    await waitFor(() => !existsSync(containerDir(id)), 'the container directory to go', 20_000, 50);
    assert.ok(!(await mountPoints()).has(data.rootfsPath), 'unmounted');
    // The image is still on the node: its layers stay cached.
    for (const l of [base, one, two, three]) assert.ok((await cachedLayers()).includes(hexOf(l)));
  });

  it('mounts a 128-layer image (short l/ links keep the options inside a page)', async () => {
    const layers: TestLayer[] = [await layerFrom(busyboxRootfs, 'gzip')];
    for (let i = 1; i < 128; i++)
      layers.push(await filesLayer({ [`layers/${String(i).padStart(3, '0')}`]: `${i}` }));
    const id = await requestContainer(await installImage(layers));
    const data = await prepared(id);
    const files = await readdir(path.join(data.rootfsPath, 'layers'));
    assert.equal(files.length, 127);
    assert.equal(await readFile(path.join(data.rootfsPath, 'layers', '127'), 'utf8'), '127');
    await remove(id);
    await waitFor(() => !existsSync(containerDir(id)), 'the container directory to go', 20_000, 50);
  });

  it('shares one unpack of each layer between containers asking at once', async () => {
    const shared = await filesLayer({ 'shared/file': `s-${Date.now()}` });
    const layers = await installImage([shared]);
    const before = (await readFile(path.join(home, 'rootfs-builder.log'), 'utf8')).split('\n').length;
    const ids = await Promise.all([1, 2, 3, 4].map(() => requestContainer(layers)));
    const all = await Promise.all(ids.map(prepared));
    for (const d of all)
      assert.equal(
        await readFile(path.join(d.rootfsPath, 'shared/file'), 'utf8'),
        await readFile(path.join(home, 'layers', 'sha256', hexOf(shared), 'shared/file'), 'utf8'),
      );
    const log = (await readFile(path.join(home, 'rootfs-builder.log'), 'utf8')).split('\n').slice(before - 1);
    const unpacks = log.filter((l) => l.includes('"layer unpacked"') && l.includes(shared.diffId));
    assert.equal(unpacks.length, 1, 'one unpack for four containers');
    for (const id of ids) await remove(id);
    await waitFor(async () => ids.every((id) => !existsSync(containerDir(id))), 'the four to go', 20_000, 50);
  });

  it('fails a hostile layer with the unpacker’s code and leaves nothing of it', async () => {
    // A tar whose entry climbs out of the layer.
    const tar = execFileSync('tar', [
      '-C',
      '/',
      '--absolute-names',
      '-cf',
      '-',
      '--transform',
      's,^,../../,',
      'etc/hostname',
    ]);
    const hostile = await makeLayer(tar, 'gzip');
    const id = await requestContainer(await installImage([hostile]));
    const event = await outcome(id);
    assert.equal(event.type, 'RootfsFailed');
    const data = event.data as EventData<'RootfsFailed'>;
    assert.match(data.code, /^ROOTFS_LAYER_/);
    assert.ok(!existsSync(containerDir(id)), 'no container directory');
    assert.ok(!(await cachedLayers()).includes(hexOf(hostile)), 'no cached layer');
    assert.deepEqual(await readdir(path.join(home, 'layers', 'tmp')), [], 'no half-unpacked layer');
  });

  it('bind-mounts the node’s tools bundle read-only at /opt/lxr, resolved through `current`', async () => {
    const tools = path.join(home, 'tools');
    await mkdir(path.join(tools, '1.0.0', 'bin'), { recursive: true });
    await writeFile(path.join(tools, '1.0.0', 'bin', 'tool'), '#!/bin/sh\n');
    await symlink('1.0.0', path.join(tools, 'current'));
    try {
      const id = await requestContainer(await installImage([await filesLayer({ 'opt/.keep': '' })]));
      const data = await prepared(id);
      assert.deepEqual(data.mounts, [
        {
          destination: '/opt/lxr',
          source: path.join(tools, '1.0.0'),
          type: 'bind',
          options: ['rbind', 'ro', 'nosuid', 'nodev'],
        },
      ]);
      await remove(id);
    } finally {
      await rm(tools, { recursive: true, force: true });
    }
  });

  it('restarts after a crash and reconciles: remounts live overlays, removes the removed, clears half-made layers', async () => {
    const layer = await filesLayer({ 'crash/file': 'c' });
    const layers = await installImage([layer]);
    const live = await requestContainer(layers);
    const gone = await requestContainer(layers);
    const [liveData, goneData] = [await prepared(live), await prepared(gone)];
    await service.kill();
    // A reboot: the overlays are gone; the removal of `gone` happened while the builder was down;
    // an unpack was cut short.
    execFileSync('umount', [liveData.rootfsPath]);
    execFileSync('umount', [goneData.rootfsPath]);
    await remove(gone);
    await mkdir(path.join(home, 'layers', 'tmp', 'deadbeef0000-00000000', 'partial'), { recursive: true });
    // A prepare the crash cut short: directories made, no outcome recorded.
    const half = await requestContainer(layers);
    await mkdir(path.join(containerDir(half), 'u'), { recursive: true });
    await startBuilder();
    const halfData = await prepared(half);
    assert.ok((await mountPoints()).has(halfData.rootfsPath), 'made afresh and mounted');
    assert.equal(await readFile(path.join(halfData.rootfsPath, 'crash/file'), 'utf8'), 'c');
    await remove(half);
    await waitFor(
      async () => (await mountPoints()).has(liveData.rootfsPath),
      'the live overlay to be mounted again',
      20_000,
      50,
    );
    assert.equal(await readFile(path.join(liveData.rootfsPath, 'crash/file'), 'utf8'), 'c');
    await waitFor(
      () => !existsSync(containerDir(gone)),
      'the removed container’s directory to go',
      20_000,
      50,
    );
    assert.deepEqual(await readdir(path.join(home, 'layers', 'tmp')), []);
    await remove(live);
    await waitFor(() => !existsSync(containerDir(live)), 'the live container’s directory to go', 20_000, 50);
  });

  it('collects only layers no image and no container uses, on ImageRemoved and prune', async () => {
    const shared = await filesLayer({ 'gc/shared': 's' });
    const onlyA = await filesLayer({ 'gc/a': 'a' });
    const onlyB = await filesLayer({ 'gc/b': 'b' });
    const a = await installImage([shared, onlyA]);
    const b = await installImage([shared, onlyB]);
    const user = await requestContainer(b);
    await prepared(await requestContainer(a)).then(() => undefined);
    await prepared(user);
    for (const l of [shared, onlyA, onlyB]) assert.ok((await cachedLayers()).includes(hexOf(l)));

    // Image B goes while a container still stacks its layers: nothing is collected.
    const bRecord = (await images.list()).find((i) => i.layers.some((l) => l.diffId === onlyB.diffId))!;
    await images.removeImage(bRecord.digest);
    await store.append(imageNodeStream(node), 'any', [
      {
        type: 'ImageRemoved',
        correlationId: bRecord.digest,
        data: { node, digest: bRecord.digest, references: [] },
      },
    ]);
    const df = await bus.request<RootfsDiskUsage>(rootfsRequestSubject(node, 'df'), {});
    const usageB = df.layers.find((l) => l.diffId === onlyB.diffId)!;
    assert.deepEqual([usageB.images, usageB.containers], [0, 1]);
    assert.ok((await cachedLayers()).includes(hexOf(onlyB)));

    // Its container goes: prune collects B's own layer, keeps the shared one and A's.
    await remove(user);
    await waitFor(() => !existsSync(containerDir(user)), 'the container to go', 20_000, 50);
    const pruned = await bus.request<{ layersRemoved: number; bytesFreed: number }>(
      rootfsRequestSubject(node, 'prune'),
      {},
    );
    assert.ok(pruned.layersRemoved >= 1);
    const left = await cachedLayers();
    assert.ok(!left.includes(hexOf(onlyB)), 'the unused layer is gone');
    assert.ok(left.includes(hexOf(shared)) && left.includes(hexOf(onlyA)), 'used layers stay');
  });
  it('pipelines: unpacks a layer while it is still downloading, and the prepare reuses it', async () => {
    const small = await filesLayer({ 'pipe/small': '1' });
    // Incompressible content, so the first 2 MiB of the download hold the whole first file.
    const big = await layerFrom(async (dir) => {
      await mkdir(path.join(dir, 'pipe'), { recursive: true });
      await writeFile(path.join(dir, 'pipe', 'a'), randomBytes(1536 * 1024));
      await writeFile(path.join(dir, 'pipe', 'b'), randomBytes(1536 * 1024));
    }, 'gzip');
    const records = [small, big].map((l) => ({
      digest: l.digest,
      diffId: l.diffId,
      size: l.size,
      mediaType: l.mediaType,
    }));
    const id = await requestContainer(records, {}, false);
    await store.append(imagePullStream(id), 'no-stream', [
      {
        type: 'ImagePullResolved',
        correlationId: id,
        data: { ...pullSubject(id), digest: `sha256:${'3'.repeat(64)}`, layers: records },
      },
    ]);
    const ingest = (layer: TestLayer, body: AsyncIterable<Buffer>) =>
      images.blobs.ingest({
        digest: layer.digest as Digest,
        size: layer.size,
        compression: layerCompression(layer.mediaType)!,
        open: async () => ({ body, offset: 0 }),
      });
    await ingest(small, Readable.from([small.blob]));
    await waitFor(async () => (await cachedLayers()).includes(hexOf(small)), 'the small layer', 20_000, 20);

    // The big layer's download stops half way: its first file is unpacked already.
    const rest = deferred();
    const half = 2 * 1024 * 1024;
    const downloading = ingest(
      big,
      Readable.from(
        (async function* () {
          yield big.blob.subarray(0, half);
          await rest.promise;
          yield big.blob.subarray(half);
        })(),
      ),
    );
    const tmp = path.join(home, 'layers', 'tmp');
    await waitFor(
      async () => {
        for (const name of await readdir(tmp)) {
          if (!name.startsWith(hexOf(big).slice(0, 12))) continue;
          const a = await stat(path.join(tmp, name, 'pipe', 'a')).catch(() => undefined);
          if (a?.size === 1536 * 1024) return true;
        }
        return false;
      },
      'the first file of the layer still downloading to be unpacked',
      20_000,
      20,
    );
    assert.ok(!(await cachedLayers()).includes(hexOf(big)), 'not complete while downloading');
    assert.equal((await store.readStream(rootfsStream(id))).length, 0, 'nothing recorded before ImagePulled');
    rest.resolve();
    await downloading;
    await waitFor(async () => (await cachedLayers()).includes(hexOf(big)), 'the big layer', 20_000, 20);

    await pulled(id, records);
    const data = await prepared(id);
    assert.deepEqual((await readdir(path.join(data.rootfsPath, 'pipe'))).sort(), ['a', 'b', 'small']);
    const log = await readFile(path.join(home, 'rootfs-builder.log'), 'utf8');
    const unpacks = log.split('\n').filter((l) => l.includes('"layer unpacked"') && l.includes(big.diffId));
    assert.equal(unpacks.length, 1, 'the prepare reused the pipelined unpack');
    await remove(id);
    await waitFor(() => !existsSync(containerDir(id)), 'the container to go', 20_000, 50);
  });

  it('a pipelined unpack of a download that is abandoned leaves nothing, and the prepare still succeeds', async () => {
    const layer = await layerFrom(async (dir) => {
      await writeFile(path.join(dir, 'abandoned'), randomBytes(3 * 1024 * 1024));
    }, 'gzip');
    const records = [
      { digest: layer.digest, diffId: layer.diffId, size: layer.size, mediaType: layer.mediaType },
    ];
    const id = await requestContainer(records, {}, false);
    await store.append(imagePullStream(id), 'no-stream', [
      {
        type: 'ImagePullResolved',
        correlationId: id,
        data: { ...pullSubject(id), digest: `sha256:${'4'.repeat(64)}`, layers: records },
      },
    ]);
    // A download that breaks for good half way: the image-puller deletes its partial file.
    const failed = images.blobs.ingest({
      digest: layer.digest as Digest,
      size: layer.size,
      compression: 'gzip',
      attempts: 1,
      open: async () => ({
        body: Readable.from(
          (async function* () {
            yield layer.blob.subarray(0, 2 * 1024 * 1024);
            yield Buffer.from('not the blob');
          })(),
        ),
        offset: 0,
      }),
    });
    await assert.rejects(failed);
    await waitFor(
      async () =>
        !(await readdir(path.join(home, 'layers', 'tmp'))).some((n) =>
          n.startsWith(hexOf(layer).slice(0, 12)),
        ),
      'the abandoned unpack to be cleaned up',
      20_000,
      20,
    );
    assert.ok(!(await cachedLayers()).includes(hexOf(layer)));
    // The pull is retried and succeeds: the prepare unpacks from the stored blob.
    await images.blobs.ingest({
      digest: layer.digest as Digest,
      size: layer.size,
      compression: 'gzip',
      open: async () => ({ body: Readable.from([layer.blob]), offset: 0 }),
    });
    await pulled(id, records);
    const data = await prepared(id);
    assert.equal((await stat(path.join(data.rootfsPath, 'abandoned'))).size, 3 * 1024 * 1024);
    await remove(id);
    await waitFor(() => !existsSync(containerDir(id)), 'the container to go', 20_000, 50);
  });

  it('adds volumes after mounting (a new named volume is seeded from the image) and fails a bad -v cleanly', async () => {
    const layers = await installImage([await filesLayer({ 'data/seed': 'from the image' })]);
    const id = await requestContainer(layers, {
      volumes: [{ source: `vol-${process.pid}`, destination: '/data' }],
    });
    const data = await prepared(id);
    const volume = data.mounts.find((m) => m.destination === '/data');
    assert.ok(volume, JSON.stringify(data.mounts));
    assert.equal(volume.source, path.join(home, 'volumes', `vol-${process.pid}`, '_data'));
    assert.equal(await readFile(path.join(volume.source, 'seed'), 'utf8'), 'from the image');
    await remove(id);
    await waitFor(() => !existsSync(containerDir(id)), 'the container to go', 20_000, 50);
    assert.ok(existsSync(volume.source), 'a named volume outlives its container');

    const bad = await requestContainer(layers, { volumes: [{ destination: '/proc/x' }] });
    const event = await outcome(bad);
    assert.equal(event.type, 'RootfsFailed');
    assert.match((event.data as EventData<'RootfsFailed'>).code, /^ROOTFS_VOLUME_/);
    assert.ok(!existsSync(containerDir(bad)), 'nothing of the container is left');
    assert.ok(!(await mountPoints()).has(path.join(containerDir(bad), 'm')));
  });
});
