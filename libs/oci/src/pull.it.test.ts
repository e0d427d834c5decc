import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  busyboxRootfs,
  debRootfs,
  layerFrom,
  makeImage,
  makeIndex,
  makeLayer,
  pushImage,
  startRegistry,
  type TestImage,
  type TestIndex,
  type TestRegistry,
} from '@lxr/testkit';
import { OciError } from './errors.js';
import { type Fault, type FaultProxy, startFaultProxy } from './fault-proxy.fixture.js';
import { parsePlatform } from './platform.js';
import { ImagePuller } from './puller.js';
import { RegistryClient, type RegistryClientOptions } from './registry/registry-client.js';
import { ImageStore } from './store/image-store.js';

const cleanups: (() => Promise<unknown>)[] = [];
let registry: TestRegistry;
let multi: TestIndex; // OCI index: amd64 (gzip busybox, zstd .deb, plain) + arm64
let dockerImage: TestImage; // Docker media types, shares the busybox layer
let bigImage: TestImage; // one 4 MiB layer, for resume tests

async function newStore(): Promise<ImageStore> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lxr-oci-store-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return new ImageStore(dir);
}

function newPuller(store: ImageStore, options: RegistryClientOptions = {}): ImagePuller {
  return new ImagePuller(store, new RegistryClient({ retryBaseMs: 20, retryMaxMs: 2000, ...options }));
}

async function proxy(rule?: Parameters<typeof startFaultProxy>[1]): Promise<FaultProxy> {
  const p = await startFaultProxy(registry.host, rule);
  cleanups.push(() => p.close());
  return p;
}

/** Every visible blob hashes to its name and nothing is left half-written. */
async function assertStoreClean(store: ImageStore, allowPartial = false): Promise<string[]> {
  const dir = path.join(store.root, 'blobs', 'sha256');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    const hash = createHash('sha256')
      .update(await readFile(path.join(dir, name)))
      .digest('hex');
    assert.equal(hash, name, `blob ${name} in the store does not match its digest`);
  }
  if (!allowPartial) assert.deepEqual(await readdir(path.join(store.root, 'ingest')).catch(() => []), []);
  return names;
}

async function rejectsWith(promise: Promise<unknown>, code: string, reason: string): Promise<OciError> {
  let caught: unknown;
  await promise.catch((e) => {
    caught = e;
  });
  assert.ok(caught instanceof OciError, `expected an OciError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  assert.equal(caught.reason, reason);
  return caught;
}

const blobGets = (p: FaultProxy, digest?: string) =>
  p.requests.filter(
    (r) => r.method === 'GET' && r.path.includes('/blobs/') && (!digest || r.path.endsWith(digest)),
  );

before(async () => {
  registry = await startRegistry();
  const busybox = await layerFrom(busyboxRootfs, 'gzip');
  const deb = await layerFrom((dir) => debRootfs(dir, ['hello']), 'zstd');
  const plain = await layerFrom(async (dir) => writeFile(path.join(dir, 'motd'), 'plain layer\n'), 'none');
  const amd64 = makeImage([busybox, deb, plain], {
    entrypoint: ['/bin/sh', '-c'],
    cmd: ['echo hi'],
    workingDir: '/tmp',
  });
  const arm64 = makeImage([busybox], { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } });
  multi = makeIndex([amd64, arm64]);
  await pushImage(registry.host, 'test/multi', '1', multi);
  const extra = await layerFrom(
    async (dir) => writeFile(path.join(dir, 'extra'), 'docker layer\n'),
    'gzip',
    'docker',
  );
  const dockerBusybox = { ...busybox, mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip' };
  dockerImage = makeImage([dockerBusybox, extra], { format: 'docker', labels: { a: 'b' } });
  await pushImage(registry.host, 'test/docker', '1', dockerImage);
  const tar = Buffer.concat([randomBytes(2 * 1024 * 1024), Buffer.alloc(2 * 1024 * 1024)]);
  bigImage = makeImage([await makeLayer(tar, 'gzip')]);
  await pushImage(registry.host, 'test/big', '1', bigImage);
});

after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  await registry?.dispose();
});

describe('pulling from a real registry', () => {
  test('an OCI index with gzip, zstd and plain layers: the host platform, every diffID verified', async () => {
    const store = await newStore();
    const progress: number[] = [];
    const { image, cached, reference } = await newPuller(store).pull(`${registry.host}/test/multi:1`, {
      platform: parsePlatform('linux/amd64'),
      onProgress: (p) => progress.push(p.layers.reduce((s, l) => s + l.done, 0)),
      progressIntervalMs: 0,
    });
    const amd64 = multi.images[0]!;
    assert.equal(reference, `${registry.host}/test/multi:1`);
    assert.equal(cached, false);
    assert.equal(image.digest, amd64.digest);
    assert.equal(image.indexDigest, multi.digest);
    assert.deepEqual(
      image.layers.map((l) => [l.digest, l.diffId, l.mediaType]),
      amd64.layers.map((l) => [l.digest, l.diffId, l.mediaType]),
    );
    assert.deepEqual(image.runtime, {
      entrypoint: ['/bin/sh', '-c'],
      cmd: ['echo hi'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      workingDir: '/tmp',
    });
    assert.equal(
      progress.at(-1),
      amd64.layers.reduce((s, l) => s + l.size, 0),
    );
    const names = await assertStoreClean(store);
    for (const d of [multi.digest, amd64.digest, amd64.configDigest, ...amd64.layers.map((l) => l.digest)]) {
      assert.ok(names.includes(d.slice(7)), `${d} is stored`);
    }
    // The rootfs-builder's view: the zstd layer as a verified tar stream.
    const zstd = amd64.layers[1]!;
    const hash = createHash('sha256');
    for await (const chunk of await store.blobs.openLayer(zstd.digest as `sha256:${string}`, 'zstd'))
      hash.update(chunk);
    assert.equal(`sha256:${hash.digest('hex')}`, zstd.diffId);
    const again = await newPuller(store).pull(`${registry.host}/test/multi:1`);
    assert.equal(again.cached, true);
  });

  test('--platform picks another manifest from the index; a platform the image lacks is refused', async () => {
    const store = await newStore();
    const puller = newPuller(store);
    const { image } = await puller.pull(`${registry.host}/test/multi:1`, {
      platform: parsePlatform('linux/arm64'),
    });
    assert.equal(image.digest, multi.images[1]!.digest);
    // The reference now names the arm64 image; pulling it for this (amd64) host is another image.
    const host = await puller.pull(`${registry.host}/test/multi:1`, {
      platform: parsePlatform('linux/amd64'),
    });
    assert.equal(host.image.digest, multi.images[0]!.digest);
    const again = await puller.pull(`${registry.host}/test/multi:1`, {
      platform: parsePlatform('linux/arm64'),
    });
    assert.equal(again.image.digest, multi.images[1]!.digest);
    assert.equal(again.cached, true);
    assert.deepEqual(image.platform, { os: 'linux', architecture: 'arm64', variant: 'v8' });
    const error = await rejectsWith(
      puller.pull(`${registry.host}/test/multi:1`, { platform: parsePlatform('linux/s390x') }),
      'OCI_NO_MATCHING_PLATFORM',
      'no-matching-platform',
    );
    assert.match(error.message, /linux\/amd64, linux\/arm64\/v8/);
    await rejectsWith(
      puller.pull(`${registry.host}/test/docker:1`, { platform: parsePlatform('linux/arm64') }),
      'OCI_NO_MATCHING_PLATFORM',
      'no-matching-platform',
    );
  });

  test('a Docker schema 2 image sharing a layer downloads only its new layers', async () => {
    const store = await newStore();
    const p = await proxy();
    const puller = newPuller(store);
    await puller.pull(`${p.host}/test/multi:1`, { platform: parsePlatform('linux/amd64') });
    const before = blobGets(p).length;
    const second = await puller.pull(`${p.host}/test/docker:1`);
    assert.equal(second.image.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.deepEqual(second.image.runtime.labels, { a: 'b' });
    assert.equal(second.downloadedBytes, dockerImage.layers[1]!.size);
    // config + the one new layer
    assert.equal(blobGets(p).length - before, 2);
    await assertStoreClean(store);
  });

  test('concurrent pulls of one image and of images sharing a layer fetch each blob once', async () => {
    const store = await newStore();
    const p = await proxy();
    const puller = newPuller(store);
    const amd64 = { platform: parsePlatform('linux/amd64') };
    const results = await Promise.all([
      puller.pull(`${p.host}/test/multi:1`, amd64),
      puller.pull(`${p.host}/test/multi:1`, amd64),
      newPuller(store).pull(`${p.host}/test/multi:1`, amd64),
      newPuller(store).pull(`${p.host}/test/docker:1`),
    ]);
    assert.ok(results.every((r) => r.image.layers.length > 0));
    const shared = dockerImage.layers[0]!.digest;
    assert.equal(blobGets(p, shared).length, 1, 'the shared layer was fetched once');
    for (const layer of multi.images[0]!.layers)
      assert.equal(blobGets(p, layer.digest).length, 1, layer.digest);
    await assertStoreClean(store);
  });

  test('stores sharing a directory (as two processes would) download each blob once, under a lock', async () => {
    const first = await newStore();
    const second = new ImageStore(first.root);
    const p = await proxy();
    const [a, b] = await Promise.all([
      newPuller(first).pull(`${p.host}/test/big:1`),
      newPuller(second).pull(`${p.host}/test/big:1`),
    ]);
    assert.equal(a.image.digest, b.image.digest);
    assert.equal(blobGets(p, bigImage.layers[0]!.digest).length, 1);
    assert.equal(a.downloadedBytes + b.downloadedBytes, bigImage.layers[0]!.size);
    await assertStoreClean(first);
  });

  test('an unknown tag or repository is not-found', async () => {
    await rejectsWith(
      newPuller(await newStore()).pull(`${registry.host}/test/multi:nope`),
      'OCI_NOT_FOUND',
      'not-found',
    );
    await rejectsWith(
      newPuller(await newStore()).pull(`${registry.host}/test/none:1`),
      'OCI_NOT_FOUND',
      'not-found',
    );
  });
});

describe('a registry that misbehaves', () => {
  const big = () => bigImage.layers[0]!;

  test('429 with Retry-After, then success', async () => {
    const store = await newStore();
    let refused = 0;
    const p = await proxy((r) => {
      if (!r.path.includes('/blobs/') || refused >= 2) return undefined;
      refused++;
      return { kind: 'status', status: 429, headers: { 'retry-after': '1' } };
    });
    const retries: number[] = [];
    await newPuller(store, { onRetry: (i) => retries.push(i.delayMs) }).pull(`${p.host}/test/big:1`);
    assert.equal(refused, 2);
    assert.equal(retries.length, 2);
    assert.ok(
      retries.every((ms) => ms >= 1000),
      `waited as Retry-After said: ${retries}`,
    );
    await assertStoreClean(store);
  });

  test('5xx until the attempts run out ends in registry-error', async () => {
    const p = await proxy((r) =>
      r.path.includes('/manifests/') ? { kind: 'status', status: 503 } : undefined,
    );
    await rejectsWith(
      newPuller(await newStore(), { attempts: 3 }).pull(`${p.host}/test/big:1`),
      'OCI_REGISTRY_ERROR',
      'registry-error',
    );
    assert.equal(p.requests.length, 3);
  });

  test('a connection dropped mid-blob resumes with Range', async () => {
    const store = await newStore();
    let dropped = false;
    const p = await proxy((r) => {
      if (!dropped && r.path.endsWith(big().digest) && r.method === 'GET') {
        dropped = true;
        return { kind: 'drop-after', bytes: 1024 * 1024 };
      }
      return undefined;
    });
    const { image } = await newPuller(store).pull(`${p.host}/test/big:1`);
    assert.equal(image.layers[0]!.diffId, big().diffId);
    const gets = blobGets(p, big().digest);
    assert.equal(gets.length, 2);
    const range = /^bytes=(\d+)-$/.exec(String(gets[1]!.headers.range));
    assert.ok(
      range && Number(range[1]) > 0 && Number(range[1]) <= 1024 * 1024,
      `resumed with ${gets[1]!.headers.range}`,
    );
    await assertStoreClean(store);
  });

  test('a partial download and a lock left by a crash: the lock is taken over, the download resumed', async () => {
    const store = await newStore();
    const layer = big();
    await store.blobs.cleanIngest(); // creates the layout
    await writeFile(
      path.join(store.root, 'ingest', `${layer.digest.slice(7)}.partial`),
      layer.blob.subarray(0, 1_000_000),
    );
    // …and its lock, held by a process that is gone.
    const dead = spawnSync('true').pid!;
    await writeFile(path.join(store.root, 'ingest', `${layer.digest.slice(7)}.lock`), String(dead));
    const p = await proxy();
    await newPuller(store).pull(`${p.host}/test/big:1`);
    assert.equal(blobGets(p, layer.digest)[0]!.headers.range, 'bytes=1000000-');
    await assertStoreClean(store);
  });

  test('an aborted pull keeps what it verified and the next pull resumes from there', async () => {
    const store = await newStore();
    let stalled = false;
    const p = await proxy((r) => {
      if (!stalled && r.method === 'GET' && r.path.endsWith(big().digest)) {
        stalled = true;
        return { kind: 'stall-after', bytes: 2 * 1024 * 1024 };
      }
      return undefined;
    });
    const abort = new AbortController();
    const pulling = newPuller(store).pull(`${p.host}/test/big:1`, {
      signal: abort.signal,
      progressIntervalMs: 0,
      onProgress: (progress) => {
        if (progress.layers[0]!.done >= 2 * 1024 * 1024) abort.abort();
      },
    });
    await rejectsWith(pulling, 'OCI_ABORTED', 'aborted');
    assert.deepEqual(await readdir(path.join(store.root, 'ingest')), [`${big().digest.slice(7)}.partial`]);
    await assertStoreClean(store, true);
    await newPuller(store).pull(`${p.host}/test/big:1`);
    const resumed = blobGets(p, big().digest)[1]!;
    assert.match(String(resumed.headers.range), /^bytes=[1-9]\d*-$/);
    await assertStoreClean(store);
  });

  const corruptions: [string, (b: Buffer) => Buffer, string][] = [
    [
      'the right size and a wrong digest',
      (b) => Buffer.concat([b.subarray(0, 100), Buffer.from([b[100]! ^ 1]), b.subarray(101)]),
      'OCI_DIGEST_MISMATCH',
    ],
    ['too short', (b) => b.subarray(0, b.length - 10), 'OCI_SIZE_MISMATCH'],
    ['trailing bytes', (b) => Buffer.concat([b, Buffer.from('trailing')]), 'OCI_SIZE_MISMATCH'],
  ];
  for (const [what, transform, code] of corruptions) {
    test(`a blob with ${what} fails the pull and leaves nothing in the store`, async () => {
      const store = await newStore();
      const p = await proxy((r) =>
        r.path.endsWith(big().digest) ? { kind: 'rewrite', transform } : undefined,
      );
      await rejectsWith(newPuller(store).pull(`${p.host}/test/big:1`), code, 'digest-mismatch');
      const names = await assertStoreClean(store);
      assert.ok(!names.includes(big().digest.slice(7)));
      assert.equal(await store.image(bigImage.digest as `sha256:${string}`), undefined);
    });
  }

  test('a config whose diffIDs do not match the layers fails with digest-mismatch', async () => {
    const liar = makeImage(bigImage.layers, { diffIds: [`sha256:${'0'.repeat(64)}`] });
    await pushImage(registry.host, 'test/liar', '1', liar);
    const store = await newStore();
    await rejectsWith(
      newPuller(store).pull(`${registry.host}/test/liar:1`),
      'OCI_DIFF_ID_MISMATCH',
      'digest-mismatch',
    );
    assert.equal(await store.image(liar.digest as `sha256:${string}`), undefined);
    await assertStoreClean(store);
  });

  test('a manifest that differs from the pinned digest is refused', async () => {
    const p = await proxy((r) =>
      r.path.includes('/manifests/')
        ? { kind: 'rewrite', transform: (b) => Buffer.concat([b, Buffer.from('\n')]) }
        : undefined,
    );
    const store = await newStore();
    await rejectsWith(
      newPuller(store).pull(`${p.host}/test/big@${bigImage.digest}`),
      'OCI_DIGEST_MISMATCH',
      'digest-mismatch',
    );
    // The tag path: the registry announces a Docker-Content-Digest the body does not hash to.
    await rejectsWith(
      newPuller(store).pull(`${p.host}/test/big:1`),
      'OCI_DIGEST_MISMATCH',
      'digest-mismatch',
    );
    await assertStoreClean(store);
  });

  test('huge manifests are refused, with or without Content-Length', async () => {
    const huge = Buffer.alloc(5 * 1024 * 1024, 0x20);
    let p = await proxy((r) =>
      r.path.includes('/manifests/')
        ? {
            kind: 'status',
            status: 200,
            body: huge,
            headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
          }
        : undefined,
    );
    await rejectsWith(newPuller(await newStore()).pull(`${p.host}/test/big:1`), 'OCI_TOO_LARGE', 'too-large');
    p = await proxy((r) =>
      r.path.includes('/manifests/')
        ? {
            kind: 'chunked',
            size: 64 * 1024 * 1024,
            contentType: 'application/vnd.oci.image.manifest.v1+json',
          }
        : undefined,
    );
    await rejectsWith(newPuller(await newStore()).pull(`${p.host}/test/big:1`), 'OCI_TOO_LARGE', 'too-large');
  });
});

describe('mirrors and redirects', () => {
  test('a mirror is tried first; a failing one falls back to the registry', async () => {
    const mirror = await proxy();
    const store = await newStore();
    await newPuller(store, { mirrors: { [registry.host]: [`http://${mirror.host}`] } }).pull(
      `${registry.host}/test/big:1`,
    );
    assert.ok(blobGets(mirror, bigImage.layers[0]!.digest).length === 1, 'the layer came from the mirror');
    const broken = await proxy(() => ({ kind: 'status', status: 500 }));
    const { image } = await newPuller(await newStore(), {
      mirrors: { [registry.host]: [`http://${broken.host}`] },
      attempts: 1,
    }).pull(`${registry.host}/test/big:1`);
    assert.equal(image.digest, bigImage.digest);
    assert.ok(broken.requests.length > 0);
  });

  test('a blob redirect to another host is followed, without the Authorization header', async () => {
    const storage = await proxy();
    const login = `Basic ${Buffer.from('alice:secret').toString('base64')}`;
    // A registry with basic auth whose blobs live elsewhere.
    const front = await proxy((r): Fault | undefined => {
      if (r.headers.authorization !== login)
        return { kind: 'status', status: 401, headers: { 'www-authenticate': 'Basic realm="test"' } };
      if (r.path.includes('/blobs/'))
        return { kind: 'status', status: 307, headers: { location: `http://${storage.host}${r.path}` } };
      return undefined;
    });
    const store = await newStore();
    const credentials = {
      get: async (host: string) =>
        host === front.host ? { username: 'alice', password: 'secret' } : undefined,
    };
    await newPuller(store, { credentials }).pull(`${front.host}/test/big:1`);
    assert.equal(blobGets(storage).length, 2, 'config and layer came from the redirect target');
    assert.ok(storage.requests.every((r) => r.headers.authorization === undefined));
    assert.ok(front.requests.some((r) => r.headers.authorization === login));
    await assertStoreClean(store);
    await rejectsWith(
      newPuller(await newStore()).pull(`${front.host}/test/big:1`),
      'OCI_UNAUTHORIZED',
      'unauthorized',
    );
  });
});

describe('garbage collection', () => {
  test('removing an image frees only the blobs no other image uses', async () => {
    const store = await newStore();
    const puller = newPuller(store);
    await puller.pull(`${registry.host}/test/multi:1`, { platform: parsePlatform('linux/amd64') });
    await puller.pull(`${registry.host}/test/docker:1`);
    // What a user may call them: a reference, a digest, an id prefix (of the manifest or the config).
    const amd64 = multi.images[0]!;
    assert.equal(
      (await store.resolve(`${registry.host}/test/docker:1`))?.reference,
      `${registry.host}/test/docker:1`,
    );
    assert.equal(
      (await store.resolve(`${registry.host}/test/docker`))?.image,
      undefined,
      ':latest was never pulled',
    );
    assert.equal((await store.resolve(amd64.digest))?.image.digest, amd64.digest);
    assert.equal((await store.resolve(amd64.configDigest.slice(7, 19)))?.image.digest, amd64.digest);
    assert.equal(
      (await store.resolve(`${registry.host}/test/multi@${amd64.digest}`))?.image.digest,
      amd64.digest,
    );
    assert.equal(await store.resolve(`sha256:${'0'.repeat(64)}`), undefined);
    await assert.rejects(
      store.resolve('Bad/Name'),
      (e: unknown) => e instanceof OciError && e.code === 'OCI_INVALID_REFERENCE',
    );
    await store.untag(`${registry.host}/test/multi:1`);
    const result = await store.gc();
    assert.deepEqual(result.imagesRemoved, [multi.images[0]!.digest]);
    const names = await assertStoreClean(store);
    assert.ok(names.includes(dockerImage.layers[0]!.digest.slice(7)), 'the shared layer stays');
    assert.ok(!names.includes(multi.images[0]!.layers[1]!.digest.slice(7)), 'the zstd layer went');
    assert.ok(!names.includes(multi.digest.slice(7)), 'the index went');
    assert.deepEqual(
      (await store.list()).map((i) => i.digest),
      [dockerImage.digest],
    );
  });
});
