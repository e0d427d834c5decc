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
import { facts, runtimes, Sandbox } from './harness.js';

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
      const box = await Sandbox.create();
      try {
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
      } finally {
        await box.cleanup();
      }
    });

    test('an OOM kill is counted in memory.events', async () => {
      const box = await Sandbox.create();
      try {
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
      } finally {
        await box.cleanup();
      }
    });

    test('the container sees its own cgroup as the root of a read-only cgroup2 mount', async () => {
      const box = await Sandbox.create();
      try {
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
      } finally {
        await box.cleanup();
      }
    });
  });
}
