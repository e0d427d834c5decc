// Volumes end to end, as root: the real CLI against `lxr up` (image from a registry on loopback, the
// rootfs-builder preparing -v, the executor mounting it). What a docker user expects of -v and
// `lxr volume`.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requiresRoot, startRegistry, type TestRegistry, waitFor } from '@lxr/testkit';
import { createSuite, pushBusybox, type Suite } from './suite.js';

const skip = requiresRoot();

describe('volumes end to end', { skip, timeout: 300_000 }, () => {
  let suite: Suite;
  let registry: TestRegistry;
  let image: string;
  let hostDir: string;

  before(async () => {
    hostDir = await mkdtemp(path.join(tmpdir(), 'lxr-e2e-bind-'));
    suite = await createSuite();
    registry = await startRegistry();
    // busybox with content at /seed, which a new volume mounted there starts with.
    image = await pushBusybox(registry, 'test/volumes', async (dir) => {
      await mkdir(path.join(dir, 'seed'));
      await writeFile(path.join(dir, 'seed', 'hello'), 'from the image\n');
    });
    const up = await suite.lxr('up');
    assert.equal(up.code, 0, `lxr up failed: ${up.stderr}`);
  });
  after(async () => {
    const left = await suite?.lxr('ps', '-aq', '--no-trunc');
    for (const id of left?.stdout.split('\n').filter(Boolean) ?? []) await suite.lxr('rm', '-f', id);
    await suite?.lxr('volume', 'prune', '-a');
    await suite?.dispose();
    await registry?.dispose();
    if (hostDir) await rm(hostDir, { recursive: true, force: true });
  });

  const volumeNames = async () => (await suite.lxr('volume', 'ls', '-q')).stdout.split('\n').filter(Boolean);

  it('keeps a named volume past its container, seeded from the image, for the next container', async () => {
    const write = await suite.lxr(
      'run',
      '--rm',
      '-v',
      'data:/seed',
      image,
      'sh',
      '-c',
      'cat /seed/hello; echo kept > /seed/mine',
    );
    assert.equal(write.code, 0, write.stderr);
    assert.equal(write.stdout, 'from the image\n');
    const read = await suite.lxr('run', '--rm', '-v', 'data:/other', image, 'cat', '/other/mine');
    assert.equal(read.code, 0, read.stderr);
    assert.equal(read.stdout, 'kept\n');

    const ls = await suite.lxr('volume', 'ls');
    assert.match(ls.stdout, /^DRIVER +VOLUME NAME +NODE\n/);
    assert.match(ls.stdout, /\nlocal +data +e2e-node\n/);
    const [inspected] = JSON.parse((await suite.lxr('volume', 'inspect', 'data')).stdout);
    assert.equal(inspected.Mountpoint, path.join(suite.home, 'volumes', 'data', '_data'));
    assert.equal(inspected.Driver, 'local');
    assert.deepEqual(inspected.Containers, []);
    const removed = await suite.lxr('volume', 'rm', 'data');
    assert.equal(removed.code, 0, removed.stderr);
    assert.equal(existsSync(path.join(suite.home, 'volumes', 'data')), false);
  });

  it('enforces :ro on a host directory it makes when missing', async () => {
    const bind = path.join(hostDir, 'made', 'by', 'run');
    const r = await suite.lxr('run', '--rm', '-v', `${bind}:/ro:ro`, image, 'touch', '/ro/x');
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Read-only file system/);
    assert.equal(existsSync(bind), true);
    assert.equal(existsSync(path.join(bind, 'x')), false);
    const rw = await suite.lxr('run', '--rm', '-v', `${bind}:/rw`, image, 'sh', '-c', 'echo w > /rw/x');
    assert.equal(rw.code, 0, rw.stderr);
    assert.equal(existsSync(path.join(bind, 'x')), true);
  });

  it('removes an anonymous volume with its --rm container; prune takes the others', async () => {
    const before = await volumeNames();
    const once = await suite.lxr('run', '--rm', '-v', '/cache', image, 'sh', '-c', 'echo x > /cache/f');
    assert.equal(once.code, 0, once.stderr);
    // The --rm container's removal releases its volumes asynchronously (ContainerRemoved).
    await waitFor(async () => (await volumeNames()).length === before.length, 'the anonymous volume to go');

    const kept = await suite.lxr('run', '--name', 'keeper', '-v', '/cache', image, 'true');
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal((await suite.lxr('rm', 'keeper')).code, 0);
    const anonymous = (await volumeNames()).filter((n) => !before.includes(n));
    assert.equal(anonymous.length, 1);
    assert.match(anonymous[0]!, /^[0-9a-f]{64}$/);
    await waitFor(
      async () => (await suite.lxr('volume', 'prune')).stdout.includes(anonymous[0]!),
      'prune to remove the anonymous volume once its container is released',
    );
    assert.deepEqual(await volumeNames(), before);
  });

  it('refuses to remove a volume a container uses, even with -f, naming the container', async () => {
    const run = await suite.lxr('run', '-d', '--name', 'busy', '-v', 'busyvol:/x', image, 'sleep', '1000');
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    for (const force of [[], ['-f']]) {
      const refused = await suite.lxr('volume', 'rm', ...force, 'busyvol');
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, new RegExp(`volume "busyvol" is in use by container ${id.slice(0, 12)}`));
    }
    assert.equal((await suite.lxr('rm', '-f', 'busy')).code, 0);
    await waitFor(async () => (await suite.lxr('volume', 'rm', 'busyvol')).code === 0, 'busyvol to be free');
    assert.equal((await volumeNames()).includes('busyvol'), false);
  });

  it('refuses a -v no container could get at create, and fails one whose host path cannot be made', async () => {
    const refused = await suite.lxr('run', '--name', 'rooted', '-v', '/:/host', image, 'true');
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /invalid volume "-v \/:\/host": binding the host's root/);
    assert.equal((await suite.lxr('inspect', 'rooted')).code, 1, 'nothing was recorded');

    const file = path.join(hostDir, 'a-file');
    await writeFile(file, '');
    const failed = await suite.lxr('run', '--name', 'blocked', '-v', `${file}/sub:/x`, image, 'true');
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /failed to start; `lxr inspect [0-9a-f]+` says why/);
    const inspect = await suite.lxr('inspect', 'blocked');
    assert.match(inspect.stdout, /ROOTFS_VOLUME_HOST_PATH/);
    assert.match(inspect.stdout, new RegExp(`cannot use host path ${file}/sub`));
    await suite.lxr('rm', '-f', 'blocked');
  });

  it("keeps a development container's /workspace in <name>-workspace past the container", async () => {
    const created = await suite.lxr('create', '--name', 'dev', image, 'sleep', '1000');
    assert.equal(created.code, 0, created.stderr);
    await waitFor(async () => (await volumeNames()).includes('dev-workspace'), 'the workspace volume');
    const [inspected] = JSON.parse((await suite.lxr('volume', 'inspect', 'dev-workspace')).stdout);
    assert.equal(inspected.Containers.length, 1);
    assert.equal((await suite.lxr('rm', '-f', 'dev')).code, 0);
    assert.ok((await volumeNames()).includes('dev-workspace'), 'the workspace outlives the container');
    await waitFor(
      async () => (await suite.lxr('volume', 'rm', 'dev-workspace')).code === 0,
      'the workspace to be free',
    );
  });
});
