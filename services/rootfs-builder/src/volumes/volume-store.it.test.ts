// VolumeStore against real PostgreSQL, real directories and real containers (lxr-runtime, as root):
// what a docker user expects of -v.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createPostgresEventStore, type PostgresEventStore } from '@lxr/event-store';
import { type RootfsMount, type VolumeMount, volumeNodeStream } from '@lxr/events';
import { createLogger } from '@lxr/service-kit';
import {
  cgroupDirs,
  createBusyboxBundle,
  nativeDir,
  ociConfig,
  type PostgresServer,
  removeCgroupTree,
  requiresRoot,
  startPostgres,
} from '@lxr/testkit';
import { VolumeError, VolumeErrorCode } from './errors.js';
import { VolumeStore } from './volume-store.js';

const run = promisify(execFile);
const tag = randomBytes(3).toString('hex');
const silent = createLogger('volumes-test', { destination: { write: () => true } });
const containerId = () => randomBytes(32).toString('hex');

describe('VolumeStore', { skip: requiresRoot() }, () => {
  let postgres: PostgresServer;
  let store: PostgresEventStore;
  let dir: string;
  let volumes: VolumeStore;
  const node = `vol-${tag}`;
  let runs = 0;

  before(async () => {
    postgres = await startPostgres({ fsync: false });
    store = createPostgresEventStore({ connectionString: postgres.url });
    await store.migrate();
    dir = await mkdtemp(path.join(tmpdir(), 'lxr-volumes-'));
    volumes = new VolumeStore({ root: path.join(dir, 'volumes'), node, store, logger: silent });
  });

  after(async () => {
    await store?.close();
    await postgres?.dispose();
    for (const d of cgroupDirs(`lxr-voltest-${tag}`).reverse()) removeCgroupTree(d);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A busybox root filesystem with `files` (path → content) in it, as an image would have them. */
  async function image(files: Record<string, string> = {}): Promise<string> {
    const bundleDir = path.join(dir, `bundle-${++runs}`);
    const bundle = await createBusyboxBundle(bundleDir);
    for (const [file, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(bundle.rootfs, file)), { recursive: true });
      await writeFile(path.join(bundle.rootfs, file), content);
    }
    return bundleDir;
  }

  /** Runs `script` in a real container of `bundleDir` with `mounts`; its output and exit code. */
  async function runIn(bundleDir: string, mounts: readonly RootfsMount[], script: string) {
    const config = ociConfig({
      args: ['sh', '-c', script],
      cgroupsPath: `lxr-voltest-${tag}/c${++runs}`,
      mounts: [...mounts],
    });
    await writeFile(path.join(bundleDir, 'config.json'), JSON.stringify(config));
    const id = `voltest-${tag}-${runs}`;
    try {
      const r = await run(
        path.join(nativeDir(), 'lxr-runtime'),
        ['--root', path.join(dir, 'runtime'), 'run', '--bundle', bundleDir, id],
        { encoding: 'utf8' },
      ).then(
        (out) => ({ code: 0, ...out }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      return { code: r.code, output: `${r.stdout}${r.stderr}` };
    } finally {
      await run(path.join(nativeDir(), 'lxr-runtime'), [
        '--root',
        path.join(dir, 'runtime'),
        'delete',
        '--force',
        id,
      ]).catch(() => undefined);
    }
  }

  const events = async () => (await store.readStream(volumeNodeStream(node))).map((e) => e.type);

  it('keeps a named volume past its container and gives it to the next one', async () => {
    const name = `data-${tag}`;
    const rootfs = await image();
    const first = containerId();
    const mounts = await volumes.prepare(first, [{ source: name, destination: '/data' }], `${rootfs}/rootfs`);
    assert.deepEqual(mounts, [
      {
        destination: '/data',
        type: 'bind',
        source: path.join(dir, 'volumes', name, '_data'),
        options: ['rbind', 'rprivate'],
      },
    ]);
    const wrote = await runIn(rootfs, mounts, 'echo kept > /data/file && echo ok');
    assert.equal(wrote.output.trim(), 'ok', wrote.output);
    await volumes.release(first, { removeAnonymous: true });

    const listed = await volumes.list();
    const volume = listed.find((v) => v.name === name);
    assert.ok(volume, 'the volume outlives its container');
    assert.deepEqual(volume.containers, []);
    assert.equal(volume.driver, 'local');
    assert.match(volume.createdAt, /^\d{4}-\d\d-\d\dT/);

    const second = containerId();
    const again = await volumes.prepare(second, [{ source: name, destination: '/srv' }], `${rootfs}/rootfs`);
    const read = await runIn(rootfs, again, 'cat /srv/file');
    assert.equal(read.output.trim(), 'kept');
    assert.deepEqual((await volumes.inspect(name)).containers, [second]);
    assert.equal((await volumes.inspect(name)).size, 5);
    await volumes.release(second, { removeAnonymous: false });
    assert.deepEqual(await volumes.remove(name), { removed: [name], reclaimedBytes: 5 });
    assert.equal(existsSync(path.join(dir, 'volumes', name)), false, 'its directory is gone');
  });

  it("fills a new volume with the image's content, owners and modes, never from outside the root", async () => {
    const rootfs = await image({ '/seed/a.txt': 'from the image', '/seed/sub/b.txt': 'deeper' });
    const root = `${rootfs}/rootfs`;
    await chown(path.join(root, 'seed/a.txt'), 1234, 5678);
    await chmod(path.join(root, 'seed'), 0o1777);
    // A hostile image: the destination is a link out of the root, absolute and relative.
    await symlink('/etc', path.join(root, 'abs'));
    await symlink('../../../../../../../../etc', path.join(root, 'rel'));
    const id = containerId();
    const name = `seeded-${tag}`;
    await volumes.prepare(
      id,
      [
        { source: name, destination: '/seed' },
        { source: `abs-${tag}`, destination: '/abs' },
        { source: `rel-${tag}`, destination: '/rel' },
        { source: `none-${tag}`, destination: '/not/in/image' },
      ],
      root,
    );
    const data = (n: string) => path.join(dir, 'volumes', n, '_data');
    assert.equal(await readFile(path.join(data(name), 'a.txt'), 'utf8'), 'from the image');
    assert.equal(await readFile(path.join(data(name), 'sub/b.txt'), 'utf8'), 'deeper');
    const a = await stat(path.join(data(name), 'a.txt'));
    assert.deepEqual([a.uid, a.gid], [1234, 5678]);
    assert.equal(
      (await stat(data(name))).mode & 0o7777,
      0o1777,
      "the volume's root takes the image dir's mode",
    );
    for (const n of [`abs-${tag}`, `rel-${tag}`]) {
      // The image's own /etc (busybox's passwd), not the host's.
      assert.equal(existsSync(path.join(data(n), 'debian_version')), false, `${n} copied the host's /etc`);
      assert.ok(existsSync(path.join(data(n), 'passwd')), `${n} has the image's /etc`);
    }
    assert.deepEqual(await volumes.inspect(`none-${tag}`).then((v) => v.size), 0);

    // Not empty any more: a later container's image does not overwrite it.
    await writeFile(path.join(root, 'seed/a.txt'), 'changed image');
    await writeFile(path.join(data(name), 'mine'), 'x');
    const next = containerId();
    await volumes.prepare(next, [{ source: name, destination: '/seed' }], root);
    assert.equal(await readFile(path.join(data(name), 'a.txt'), 'utf8'), 'from the image');
    for (const c of [id, next]) await volumes.release(c, { removeAnonymous: true });
    assert.equal((await volumes.prune({ all: true })).removed.length >= 4, true);
  });

  it('makes one volume when containers create the same name at once, also from two processes', async () => {
    const name = `race-${tag}`;
    const other = new VolumeStore({ root: path.join(dir, 'volumes'), node, store, logger: silent });
    const rootfs = `${await image()}/rootfs`;
    const ids = Array.from({ length: 6 }, containerId);
    const before = (await events()).length;
    await Promise.all(
      ids.map((id, i) =>
        (i % 2 === 0 ? volumes : other).prepare(id, [{ source: name, destination: '/x' }], rootfs),
      ),
    );
    const created = (await store.readStream(volumeNodeStream(node)))
      .slice(before)
      .filter((e) => e.type === 'VolumeCreated' && (e.data as { name: string }).name === name);
    assert.equal(created.length, 1);
    assert.deepEqual((await volumes.inspect(name)).containers, [...ids].sort());
    for (const id of ids) await volumes.release(id, { removeAnonymous: true });
    await volumes.remove(name);
  });

  it('enforces :ro in the container (EROFS) and makes a missing host directory', async () => {
    const host = path.join(dir, 'host', 'missing', 'dir');
    const rootfs = await image();
    const id = containerId();
    const spec: VolumeMount[] = [
      { source: host, destination: '/ro', readOnly: true },
      { source: `rw-${tag}`, destination: '/named-ro', readOnly: true },
    ];
    const mounts = await volumes.prepare(id, spec, `${rootfs}/rootfs`);
    assert.ok((await stat(host)).isDirectory(), 'the host directory was made');
    assert.deepEqual(mounts[0], {
      destination: '/ro',
      type: 'bind',
      source: host,
      options: ['rbind', 'rprivate', 'ro'],
    });
    const r = await runIn(
      rootfs,
      mounts,
      'touch /ro/f 2>&1; echo "bind=$?"; touch /named-ro/f 2>&1; echo "named=$?"; cat /proc/self/mountinfo | grep -c " /ro "',
    );
    assert.match(r.output, /Read-only file system/);
    assert.match(r.output, /bind=1/);
    assert.match(r.output, /named=1/);
    assert.equal(existsSync(path.join(host, 'f')), false);
    await volumes.release(id, { removeAnonymous: true });
    await volumes.remove(`rw-${tag}`);
  });

  it('removes an anonymous volume with its --rm container, keeps it otherwise until prune', async () => {
    const rootfs = `${await image({ '/cache/seed': 's' })}/rootfs`;
    const [rmd, kept] = [containerId(), containerId()];
    const [m1] = await volumes.prepare(rmd, [{ destination: '/cache' }], rootfs);
    const [m2] = await volumes.prepare(kept, [{ destination: '/cache' }], rootfs);
    const anon1 = path.basename(path.dirname(m1!.source));
    const anon2 = path.basename(path.dirname(m2!.source));
    assert.match(anon1, /^[0-9a-f]{64}$/);
    assert.notEqual(anon1, anon2);
    assert.equal(await readFile(path.join(m1!.source, 'seed'), 'utf8'), 's');
    // Prepared again (a redelivered event): the same volume.
    assert.deepEqual(await volumes.prepare(rmd, [{ destination: '/cache' }], rootfs), [m1]);

    await volumes.release(rmd, { removeAnonymous: true });
    await volumes.release(kept, { removeAnonymous: false });
    const names = (await volumes.list()).map((v) => v.name);
    assert.equal(names.includes(anon1), false, 'the --rm container took its anonymous volume');
    assert.equal(existsSync(path.dirname(m1!.source)), false);
    assert.ok(names.includes(anon2));
    assert.ok((await events()).includes('VolumeRemoved'));

    const named = `kept-${tag}`;
    await volumes.create({ name: named, labels: { a: 'b' } });
    const pruned = await volumes.prune();
    assert.ok(pruned.removed.includes(anon2), 'prune removes unused anonymous volumes');
    assert.equal(pruned.removed.includes(named), false, 'prune without all keeps named volumes');
    assert.equal(pruned.reclaimedBytes >= 1, true);
    assert.deepEqual((await volumes.inspect(named)).labels, { a: 'b' });
    assert.deepEqual((await volumes.prune({ all: true })).removed.includes(named), true);
  });

  it('refuses to remove a volume in use, even forced, naming the container', async () => {
    const name = `busy-${tag}`;
    const id = containerId();
    await volumes.prepare(id, [{ source: name, destination: '/x' }], `${await image()}/rootfs`);
    for (const force of [false, true]) {
      await assert.rejects(
        volumes.remove(name, { force }),
        (e: unknown) =>
          e instanceof VolumeError &&
          e.code === VolumeErrorCode.InUse &&
          e.message ===
            `volume "${name}" is in use by container ${id.slice(0, 12)}: remove the container first (lxr rm)`,
      );
    }
    assert.equal((await volumes.prune({ all: true })).removed.includes(name), false);
    await volumes.release(id, { removeAnonymous: true });
    await volumes.remove(name);
    await assert.rejects(
      volumes.remove(name),
      (e: unknown) => (e as VolumeError).code === VolumeErrorCode.NotFound,
    );
    assert.deepEqual(await volumes.remove(name, { force: true }), { removed: [], reclaimedBytes: 0 });
  });

  it('refuses a bad -v before doing anything, and undoes a prepare that fails half-way', async () => {
    const id = containerId();
    const rootfs = `${await image()}/rootfs`;
    await assert.rejects(
      volumes.prepare(
        id,
        [
          { source: `v-${tag}`, destination: '/a' },
          { source: '/', destination: '/host' },
        ],
        rootfs,
      ),
      (e: unknown) => (e as VolumeError).code === VolumeErrorCode.Invalid,
    );
    assert.equal(
      (await volumes.list()).some((v) => v.name === `v-${tag}`),
      false,
    );
    // A host path under a file cannot be made: the anonymous volume made before it goes again.
    const file = path.join(dir, 'a-file');
    await writeFile(file, '');
    await assert.rejects(
      volumes.prepare(id, [{ destination: '/anon' }, { source: `${file}/sub`, destination: '/b' }], rootfs),
      (e: unknown) =>
        e instanceof VolumeError && e.code === VolumeErrorCode.HostPath && e.message.includes(`${file}/sub`),
    );
    assert.deepEqual(
      (await volumes.list()).filter((v) => v.anonymous && v.containers.length === 0 && v.name.length === 64)
        .length,
      0,
    );
  });
});
