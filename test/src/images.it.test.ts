// Images end to end, as a user drives them: `lxr up`, then `lxr pull` from a registry on loopback
// (through the gateway, the event log and the node's image-puller), `lxr images`, `lxr rmi`,
// `lxr image prune`. Root only, like the rest of the platform suite.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  busyboxRootfs,
  debRootfs,
  eventually,
  layerFrom,
  makeImage,
  pushImage,
  requiresRoot,
  startRegistry,
  type TestImage,
  type TestRegistry,
} from '@lxr/testkit';
import { createSuite, type Suite } from './suite.js';

describe('lxr pull, images, rmi, image prune', { skip: requiresRoot(), timeout: 300_000 }, () => {
  let suite: Suite;
  let registry: TestRegistry;
  let image: TestImage;

  before(async () => {
    registry = await startRegistry();
    image = makeImage([
      await layerFrom(busyboxRootfs, 'gzip'),
      await layerFrom((d) => debRootfs(d, ['hello']), 'zstd'),
    ]);
    await pushImage(registry.host, 'e2e/busybox', '1', image);
    suite = await createSuite();
    const up = await suite.lxr('up');
    assert.equal(up.code, 0, `lxr up failed: ${up.stderr}`);
  });
  after(async () => {
    await suite?.dispose();
    await registry?.dispose();
  });

  it('pulls with a progress log, then answers from the store', async () => {
    const ref = `${registry.host}/e2e/busybox:1`;
    const first = await suite.lxr('pull', ref);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`Digest: ${image.digest}`));
    assert.match(first.stdout, /Status: Downloaded newer image for /);
    for (const layer of image.layers)
      assert.match(first.stdout, new RegExp(`${layer.digest.slice(7, 19)}: Pull complete`));
    const again = await suite.lxr('pull', ref);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Status: Image is up to date for /);

    const listed = await suite.lxr('images', '--format', 'json');
    assert.equal(listed.code, 0, listed.stderr);
    const images = listed.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { id: string; references: string[]; node: string });
    assert.deepEqual(
      images.map((i) => [i.id, i.references, i.node]),
      [[image.digest, [ref], 'e2e-node']],
    );
    const table = await suite.lxr('images');
    assert.match(
      table.stdout,
      new RegExp(`${registry.host}/e2e/busybox +1 +${image.configDigest.slice(7, 19)}`),
    );
  });

  it('lxr create makes the node pull the image: ImagePulled for the container, answered from the store', async () => {
    const created = await suite.lxr(
      'create',
      '--no-ide',
      '--name',
      'img-e2e',
      `${registry.host}/e2e/busybox:1`,
      'sh',
    );
    assert.equal(created.code, 0, created.stderr);
    const id = created.stdout.trim();
    const client = await suite.client();
    const pulled = await eventually('ImagePulled for the container', async () => {
      for await (const event of client.events.stream({ container: id, follow: false })) {
        if (event.type === 'ImagePulled' || event.type === 'ImagePullFailed') return event;
      }
      return undefined;
    });
    assert.equal(pulled.type, 'ImagePulled', JSON.stringify(pulled.data));
    const data = pulled.data as {
      containerId: string;
      digest: string;
      cached: boolean;
      layers: { diffId: string }[];
    };
    assert.equal(data.containerId, id);
    assert.equal(data.digest, image.digest);
    assert.equal(data.cached, true);
    assert.deepEqual(
      data.layers.map((l) => l.diffId),
      image.layers.map((l) => l.diffId),
    );
    await suite.lxr('rm', '-f', id);
  });

  it('reports a failed pull with its reason and exit code 1', async () => {
    const missing = await suite.lxr('pull', `${registry.host}/e2e/nothing:1`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not-found/);
    const bad = await suite.lxr('pull', 'Not/Valid');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /invalid-reference/);
  });

  it('removes the image and frees its blobs', async () => {
    // The removed container's hold on the image ends when its image-puller sees ContainerRemoved.
    const removed = await eventually('the image no longer in use', async () => {
      const result = await suite.lxr('rmi', `${registry.host}/e2e/busybox:1`);
      if (result.code !== 0 && /used by container/.test(result.stderr)) return undefined;
      return result;
    });
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /Untagged: .*e2e\/busybox:1\nDeleted: sha256:/);
    assert.equal((await suite.lxr('images', '-q')).stdout, '');
    const gone = await suite.lxr('rmi', `${registry.host}/e2e/busybox:1`);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no image/);
    const pruned = await suite.lxr('image', 'prune');
    assert.equal(pruned.code, 0, pruned.stderr);
    assert.match(pruned.stdout, /Total reclaimed space: 0B/);
  });
});
