/**
 * The cgroup v2 path of lxr-runtime (and runc on the same bundle): limits land in the unified
 * hierarchy's files, an OOM kill is counted in memory.events, and the container sees its own cgroup
 * as the root of a read-only cgroup2 mount. Runs only where /sys/fs/cgroup is cgroup2 with the
 * memory, pids and cpu controllers; skipped with the reason elsewhere (e.g. a v1/hybrid host).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { requiresRoot } from '@lxr/testkit';
import { facts, hostDisk, runCommand, runtimes, withSandbox } from './harness.js';

const CGROUP2_SUPER_MAGIC = 0x63677270;

function v2Unavailable(): string | false {
  const root = requiresRoot();
  if (root) return root;
  if (statfsSync('/sys/fs/cgroup').type !== CGROUP2_SUPER_MAGIC)
    return 'cgroup v2 not available: /sys/fs/cgroup is not a cgroup2 mount (a v1 or hybrid host, whose controllers are bound to v1 hierarchies)';
  const controllers = readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').trim().split(/\s+/);
  const missing = ['memory', 'pids', 'cpu'].filter((c) => !controllers.includes(c));
  return missing.length ? `cgroup v2 controllers missing at /sys/fs/cgroup: ${missing.join(', ')}` : false;
}

const skip = v2Unavailable();

const read = (dir: string, file: string) => readFileSync(path.join(dir, file), 'utf8').trim();

for (const rt of runtimes()) {
  describe(`${rt.name}: cgroup v2`, { skip, concurrency: false }, () => {
    test('memory, swap, cpu and pids limits land in the unified hierarchy', async () => {
      await withSandbox(async (box) => {
        const limit = 64 * 1024 * 1024;
        const bundle = await box.bundle({
          args: ['sleep', '1000'],
          resources: {
            memory: { limit, swap: 2 * limit },
            cpu: { quota: 50_000, period: 100_000, shares: 1024 },
            pids: { limit: 42 },
          },
        });
        await box.start(rt, bundle);
        const [dir] = box.cgroupDirs(bundle.config.linux.cgroupsPath!);
        assert.ok(dir && existsSync(dir), `${dir} exists`);
        assert.equal(read(dir, 'memory.max'), String(limit));
        assert.equal(read(dir, 'memory.swap.max'), String(limit), 'swap alone = memory+swap − memory');
        assert.equal(read(dir, 'cpu.max'), '50000 100000');
        assert.equal(read(dir, 'pids.max'), '42');
        assert.ok(Number(read(dir, 'cpu.weight')) > 0);
      });
    });

    test('an OOM kill is counted in memory.events', async () => {
      await withSandbox(async (box) => {
        const limit = 32 * 1024 * 1024;
        const bundle = await box.bundle({
          args: ['sh', '-c', 'tail /dev/zero; echo status=$?; sleep 1000'],
          resources: { memory: { limit, swap: limit } },
        });
        await box.start(rt, bundle);
        const [dir] = box.cgroupDirs(bundle.config.linux.cgroupsPath!);
        const deadline = Date.now() + 20_000;
        while (!/oom_kill [1-9]/.test(read(dir!, 'memory.events')) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        assert.match(read(dir!, 'memory.events'), /oom_kill [1-9]/);
      });
    });

    test('the container sees its own cgroup as the root of a read-only cgroup2 mount', async () => {
      await withSandbox(async (box) => {
        const bundle = await box.bundle({
          args: [
            'sh',
            '-c',
            'echo cg=$(cat /proc/self/cgroup); mkdir /sys/fs/cgroup/x 2>/dev/null; echo mkdir=$?',
          ],
        });
        const r = await box.run(rt, bundle);
        assert.equal(r.code, 0, r.stderr);
        const f = facts(r.stdout);
        assert.equal(f.cg, '0::/');
        assert.notEqual(f.mkdir, '0');
      });
    });
  });
}

/**
 * On a hybrid host the v2 code path still runs for real: in a private mount namespace whose
 * /sys/fs/cgroup is the unified hierarchy, a runtime takes the host for a v2 one. That hierarchy has
 * no memory/pids/cpu controllers (they are bound to v1), so no limits here, but the v2 cgroup, the
 * cgroup2 mount in the container's cgroup namespace and the BPF device program are exercised.
 */
const hybridSkip =
  requiresRoot() ||
  (existsSync('/sys/fs/cgroup/unified/cgroup.procs')
    ? false
    : 'needs a hybrid host (a cgroup2 hierarchy at /sys/fs/cgroup/unified)');

function inV2View(rt: { bin: string }, root: string, args: string[]) {
  const script = 'mount -t cgroup2 none /sys/fs/cgroup && exec "$@"';
  return runCommand('unshare', [
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    script,
    'sh',
    rt.bin,
    '--root',
    root,
    ...args,
  ]);
}

for (const rt of runtimes()) {
  describe(`${rt.name}: the cgroup v2 path on a hybrid host's unified hierarchy`, {
    skip: hybridSkip,
    concurrency: false,
  }, () => {
    test('cgroup namespace root, read-only cgroup2, and device rules from a BPF program', async () => {
      await withSandbox(async (box) => {
        const [major, minor] = hostDisk();
        const script = [
          'echo cg=$(grep "^0::" /proc/self/cgroup)',
          'echo fs=$(stat -f -c %t /sys/fs/cgroup)',
          'mkdir /sys/fs/cgroup/x 2>/dev/null; echo mkdir=$?',
          `mknod /dev/xdisk b ${major} ${minor}; head -c1 /dev/xdisk > /dev/null 2>&1; echo disk=$?`,
          'echo x > /dev/null; echo null=$?',
        ].join('\n');
        const bundle = await box.bundle({ args: ['sh', '-c', script] });
        bundle.config.linux.resources = { devices: [{ allow: false, access: 'rwm' }] };
        bundle.write();
        const r = await inV2View(rt, box.rootOf(rt), ['run', '--bundle', bundle.dir, box.id()]);
        assert.equal(r.code, 0, r.stderr);
        const f = facts(r.stdout);
        assert.equal(f.cg, '0::/', 'the container’s cgroup is its namespace’s root');
        assert.equal(f.fs, '63677270', 'a cgroup2 filesystem');
        assert.notEqual(f.mkdir, '0', '/sys/fs/cgroup is read-only');
        assert.notEqual(f.disk, '0', 'the BPF device program denies the host disk');
        assert.equal(f.null, '0', 'and allows /dev/null');
      });
    });
  });
}

describe('lxr-runtime on v2 without the controllers its limits need', { skip: hybridSkip }, () => {
  test('fails with the controller and the cgroup named', async () => {
    await withSandbox(async (box) => {
      const rt = runtimes()[0]!;
      const bundle = await box.bundle({ args: ['true'], resources: { memory: { limit: 64 << 20 } } });
      const r = await inV2View(rt, box.rootOf(rt), ['run', '--bundle', bundle.dir, box.id()]);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^lxr-runtime: cgroup: the memory controller is not available in \/sys\/fs\/cgroup/,
      );
    });
  });
});
