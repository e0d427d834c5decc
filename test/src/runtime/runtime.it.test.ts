/**
 * lxr-runtime against real containers from busybox bundles, and the same bundles under runc: each
 * case runs for both runtimes and asserts the same expected results (the differential test).
 */
import assert from 'node:assert/strict';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { requiresRoot } from '@lxr/testkit';
import {
  facts,
  hostDisk,
  netnsWithVeth,
  type Runtime,
  runtimes,
  type Sandbox,
  withSandbox,
} from './harness.js';

const skip = requiresRoot();

/** Execs a detached `sleep 1000` into container `id`; returns its host pid (from --pid-file). */
async function execDetachedSleep(box: Sandbox, rt: Runtime, id: string): Promise<number> {
  const pidFile = path.join(box.dir, 'exec.pid');
  const e = await box.runtime(
    rt,
    ['exec', '--detach', '--pid-file', pidFile, id, 'sleep', '1000'],
    undefined,
    {
      detached: true,
    },
  );
  assert.equal(e.code, 0, e.stderr);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  assert.ok(pid > 0, `exec --pid-file wrote a pid: ${pid}`);
  return pid;
}

/** Whether pid is still a running process (neither gone nor a zombie). */
function alive(pid: number): boolean {
  return existsSync(`/proc/${pid}/stat`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** A bundle whose command eats memory past a 32 MiB limit (no swap), then prints `status=$?`. */
function oomBundle(box: Sandbox) {
  const limit = 32 * 1024 * 1024;
  return box.bundle({
    args: ['sh', '-c', 'tail /dev/zero; echo status=$?'],
    resources: { memory: { limit, swap: limit } },
  });
}

const SECURITY_REPORT = [
  'echo hostname=$(hostname)',
  'echo capeff=$(grep CapEff /proc/self/status | cut -f2)',
  'echo nnp=$(grep NoNewPrivs /proc/self/status | cut -f2)',
  "echo seccomp=$(grep '^Seccomp:' /proc/self/status | cut -f2)",
  "echo ppid=$(cut -d' ' -f4 /proc/$$/stat)",
  "echo init=$(tr '\\0' ' ' < /proc/1/cmdline)",
  "echo links=$(ip -o link | cut -d: -f2 | tr -d ' ' | sort | tr '\\n' ,)",
  'echo fds=$(ls -l /proc/self/fd | awk \'NR>0 && NF>=11 {printf "%s>%s,", $9, $11}\')',
  'unshare -m true 2>/dev/null; echo unshare=$?',
  'mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>/dev/null; echo mount=$?',
  'for p in /proc/kcore /proc/keys /proc/timer_list /proc/sched_debug; do [ -e $p ] && echo "masked$p=$(wc -c < $p)"; done',
  'echo firmware=$(ls -A /sys/firmware | wc -l)',
  "sh -c 'echo 1 > /proc/sys/kernel/panic' 2>/dev/null; echo procsys=$?",
  'echo cgroupfs=$(ls /sys/fs/cgroup | wc -l)',
  'd=/sys/fs/cgroup/pids; [ -d $d ] || d=/sys/fs/cgroup; mkdir $d/x 2>/dev/null; echo cgroupwrite=$?',
].join('\n');

for (const rt of runtimes()) {
  describe(`${rt.name}: a container from the busybox bundle`, { skip, concurrency: false }, () => {
    test('has docker’s isolation: hostname, capabilities, seccomp, masked paths, only lo, only fds 0-2', async () => {
      await withSandbox(async (box) => {
        const bundle = await box.bundle({
          args: ['sh', '-c', SECURITY_REPORT],
          hostname: 'web-1',
          init: true,
        });
        const r = await box.run(rt, bundle);
        assert.equal(r.code, 0, r.stderr);
        const f = facts(r.stdout);
        assert.equal(f.hostname, 'web-1');
        assert.equal(f.capeff, '00000000a80425fb');
        assert.equal(f.nnp, '1');
        assert.equal(f.seccomp, '2', 'a seccomp filter is loaded');
        assert.equal(f.ppid, '1', 'the command is a child of PID 1');
        assert.match(f.init ?? '', /^\/dev\/\.lxr-init -- sh -c /, 'PID 1 is lxr-init');
        assert.equal(f.links, 'lo,', 'a fresh network namespace has only lo');
        // ls's own fds: 0, 1, 2 and the directory it is listing (fd 3 -> /proc/<pid>/fd) — nothing else.
        const fds = (f.fds ?? '').split(',').filter(Boolean);
        const extra = fds.filter((e) => !/^[012]>/.test(e));
        assert.deepEqual(
          fds.filter((e) => /^[012]>/.test(e)).map((e) => e[0]),
          ['0', '1', '2'],
        );
        assert.ok(
          extra.length <= 1 && extra.every((e) => /^\d+>\/proc\/\d+\/fd$/.test(e)),
          `only the listed directory may be open besides 0-2: ${f.fds}`,
        );
        assert.notEqual(f.unshare, '0', 'unshare is denied');
        assert.notEqual(f.mount, '0', 'mount is denied');
        for (const [key, value] of Object.entries(f))
          if (key.startsWith('masked/')) assert.equal(value, '0', `${key.slice(6)} is empty`);
        assert.equal(f.firmware, '0', '/sys/firmware is masked');
        assert.notEqual(f.procsys, '0', '/proc/sys is read-only');
        assert.ok(Number(f.cgroupfs) >= 1, '/sys/fs/cgroup is mounted');
        assert.notEqual(f.cgroupwrite, '0', '/sys/fs/cgroup is read-only');
      });
    });

    test('process and mounts: user, groups, umask, env, cwd, rlimits, bind mounts, read-only root', async () => {
      await withSandbox(async (box) => {
        const shared = path.join(box.dir, 'shared');
        mkdirSync(shared);
        writeFileSync(path.join(shared, 'hello'), 'from the host\n');
        const script = [
          'echo ids=$(id -u):$(id -g):$(id -G | tr " " ,)',
          'echo umask=$(umask)',
          'echo greeting=$GREETING',
          'echo cwd=$(pwd)',
          'echo nofile=$(ulimit -n)',
          'echo shared=$(cat /mnt/shared/hello)',
          'touch /mnt/shared/x 2>/dev/null; echo sharedwrite=$?',
          'touch /newfile 2>/dev/null; echo rootwrite=$?',
        ].join('\n');
        const bundle = await box.bundle({
          args: ['sh', '-c', script],
          env: ['GREETING=hej'],
          cwd: '/tmp',
          readonlyRoot: true,
          mounts: [
            { destination: '/mnt/shared', type: 'bind', source: shared, options: ['rbind', 'ro'] },
            {
              destination: '/tmp',
              type: 'tmpfs',
              source: 'tmpfs',
              options: ['nosuid', 'nodev', 'mode=1777'],
            },
          ],
        });
        bundle.config.process.user = { uid: 1000, gid: 1000, additionalGids: [10, 20], umask: 0o27 };
        bundle.config.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 512, hard: 512 }];
        bundle.write();
        const r = await box.run(rt, bundle);
        assert.equal(r.code, 0, r.stderr);
        const f = facts(r.stdout);
        assert.equal(f.ids, '1000:1000:1000,10,20');
        assert.equal(f.umask, '0027');
        assert.equal(f.greeting, 'hej');
        assert.equal(f.cwd, '/tmp');
        assert.equal(f.nofile, '512');
        assert.equal(f.shared, 'from the host');
        assert.notEqual(f.sharedwrite, '0', 'a read-only bind mount is read-only');
        assert.notEqual(f.rootwrite, '0', 'root.readonly makes / read-only');
      });
    });

    test('a block device made with mknod cannot be opened (device cgroup)', async () => {
      await withSandbox(async (box) => {
        const [major, minor] = hostDisk();
        const bundle = await box.bundle({
          args: [
            'sh',
            '-c',
            `mknod /dev/xdisk b ${major} ${minor} && echo mknod=0; head -c1 /dev/xdisk >/dev/null; echo open=$?; head -c1 /dev/urandom > /dev/null; echo urandom=$?`,
          ],
        });
        const r = await box.run(rt, bundle);
        const f = facts(r.stdout);
        assert.equal(f.mknod, '0', 'CAP_MKNOD is one of docker’s 14');
        assert.notEqual(f.open, '0', `opening the host's disk ${major}:${minor} is denied`);
        assert.match(r.stderr, /Operation not permitted/);
        assert.equal(f.urandom, '0', 'the standard devices work');
      });
    });

    test('lxr-init reaps orphans and exits with the command’s status', async () => {
      await withSandbox(async (box) => {
        const zombies =
          '(sleep 0.2 &); sleep 0.8; z=0; for s in /proc/[0-9]*/stat; do [ "$(cut -d" " -f3 $s)" = Z ] && z=$((z+1)); done; echo zombies=$z; exit 5';
        const r = await box.run(rt, await box.bundle({ args: ['sh', '-c', zombies], init: true }));
        assert.equal(facts(r.stdout).zombies, '0', 'the orphaned sleep was reaped by PID 1');
        assert.equal(r.code, 5, 'the command’s exit status');
        const killed = await box.run(
          rt,
          await box.bundle({ args: ['sh', '-c', 'kill -TERM $$'], init: true }),
        );
        assert.equal(killed.code, 143, '128 + SIGTERM');
      });
    });

    test('joins a given network namespace: lo and the veth as eth0', async () => {
      await withSandbox(async (box) => {
        const netns = await netnsWithVeth(box);
        const bundle = await box.bundle({
          args: [
            'sh',
            '-c',
            "echo links=$(ip -o link | cut -d: -f2 | tr -d ' ' | cut -d@ -f1 | sort | tr '\\n' ,)",
          ],
          netns,
        });
        const r = await box.run(rt, bundle);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(facts(r.stdout).links, 'eth0,lo,');
      });
    });

    test('refuses a working directory of /proc/self/fd/N (CVE-2024-21626) on create', async () => {
      await withSandbox(async (box) => {
        // fd 3 of the runtime is a host directory: the leak the CVE is about
        const hostDir = path.join(box.dir, 'host-secret');
        mkdirSync(hostDir);
        writeFileSync(path.join(hostDir, 'leaked-marker'), '');
        const fd = openSync(hostDir, 'r');
        try {
          for (const cwd of ['/proc/self/fd/3', '/proc/self/fd/7']) {
            const bundle = await box.bundle({ args: ['sh', '-c', 'pwd; ls'], cwd });
            const id = box.id();
            const r = await box.runtime(rt, ['run', '--bundle', bundle.dir, id], id, { extraFds: [fd] });
            assert.notEqual(r.code, 0, `cwd ${cwd} must be refused, got: ${r.stdout}`);
            assert.doesNotMatch(r.stdout, /leaked-marker/);
          }
        } finally {
          closeSync(fd);
        }
      });
    });

    test('exec runs in the container with its security, and refuses a /proc/self/fd cwd', async () => {
      await withSandbox(async (box) => {
        const bundle = await box.bundle({
          args: ['/dev/.lxr-init', '--', 'sleep', '1000'],
          hostname: 'ex',
          init: false,
        });
        bundle.config.mounts.push({
          destination: '/dev/.lxr-init',
          type: 'bind',
          source: path.join(path.dirname(runtimes()[0]!.bin), 'lxr-init'),
          options: ['bind', 'ro'],
        });
        bundle.write();
        const id = await box.start(rt, bundle);
        const report =
          'echo hostname=$(hostname); grep CapEff /proc/self/status | tr -d "\\t" | tr : =; echo ppid=$(cut -d" " -f4 /proc/$$/stat); echo user=$(id -u)';
        const r = await box.runtime(rt, ['exec', id, 'sh', '-c', report]);
        assert.equal(r.code, 0, r.stderr);
        const f = facts(r.stdout);
        assert.equal(f.hostname, 'ex');
        assert.equal(f.CapEff, '00000000a80425fb');
        assert.equal(f.user, '0');
        const code = await box.runtime(rt, ['exec', id, 'sh', '-c', 'exit 7']);
        assert.equal(code.code, 7, 'the exit status of the exec’d command comes back');
        const asUser = await box.runtime(rt, ['exec', '--user', '65534:65534', id, 'id', '-u']);
        assert.equal(asUser.stdout.trim(), '65534');
        // fd 3 of the runtime is a host directory, as a leaky caller would pass it
        const leaked = openSync(box.dir, 'r');
        try {
          const denied = await box.runtime(rt, ['exec', '--cwd', '/proc/self/fd/3', id, 'ls'], undefined, {
            extraFds: [leaked],
          });
          assert.notEqual(denied.code, 0, `exec with a /proc/self/fd cwd must fail: ${denied.stdout}`);
          assert.doesNotMatch(denied.stdout, /bundle-/);
        } finally {
          closeSync(leaked);
        }
        const mounts = await box.runtime(rt, ['exec', id, 'sh', '-c', 'unshare -m true']);
        assert.notEqual(mounts.code, 0, 'unshare is denied in exec too');
      });
    });

    test('create, start, state, kill, delete: the lifecycle, and nothing left behind', async () => {
      await withSandbox(async (box) => {
        const bundle = await box.bundle({ args: ['sleep', '1000'], init: true });
        const id = box.id();
        const created = await box.runtime(rt, ['create', '--bundle', bundle.dir, id], id, { detached: true });
        assert.equal(created.code, 0, created.stderr);
        const s1 = await box.state(rt, id);
        assert.equal(s1.status, 'created');
        assert.ok(s1.pid > 0);
        assert.equal((await box.runtime(rt, ['start', id])).code, 0);
        assert.equal((await box.state(rt, id)).status, 'running');
        const cgroups = box.cgroupDirs(bundle.config.linux.cgroupsPath!);
        assert.ok(
          cgroups.some((d) => existsSync(d)),
          'the cgroup exists while it runs',
        );
        const running = await box.runtime(rt, ['delete', id]);
        assert.notEqual(running.code, 0, 'delete refuses a running container without --force');
        assert.equal((await box.runtime(rt, ['kill', id, 'TERM'])).code, 0);
        await box.waitStopped(rt, id);
        assert.equal((await box.runtime(rt, ['delete', id])).code, 0);
        assert.ok(
          !existsSync(`/proc/${s1.pid}`) ||
            !readFileSync(`/proc/${s1.pid}/cmdline`, 'utf8').includes('sleep'),
        );
        for (const d of cgroups) assert.ok(!existsSync(d), `${d} is removed`);
        assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').includes(bundle.dir), 'no mount is left');
        assert.notEqual((await box.runtime(rt, ['state', id])).code, 0, 'the state is gone');
      });
    });

    test('delete --force kills a running container with everything exec’d into it', async () => {
      await withSandbox(async (box) => {
        const bundle = await box.bundle({ args: ['sleep', '1000'] });
        const id = await box.start(rt, bundle);
        const execPid = await execDetachedSleep(box, rt, id);
        assert.equal((await box.runtime(rt, ['delete', '--force', id])).code, 0);
        for (const d of box.cgroupDirs(bundle.config.linux.cgroupsPath!))
          assert.ok(!existsSync(d), `${d} is removed`);
        await new Promise((r) => setTimeout(r, 50));
        assert.ok(!alive(execPid), 'the exec’d process is gone');
      });
    });

    test('kill --all signals exec’d processes too', async () => {
      await withSandbox(async (box) => {
        const bundle = await box.bundle({ args: ['sleep', '1000'], init: true });
        const id = await box.start(rt, bundle);
        const execPid = await execDetachedSleep(box, rt, id);
        assert.equal((await box.runtime(rt, ['kill', '--all', id, 'KILL'])).code, 0);
        await box.waitStopped(rt, id);
        const deadline = Date.now() + 5_000;
        while (alive(execPid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.ok(!alive(execPid), 'the exec’d sleep got the signal');
      });
    });

    test('a memory limit leads to an OOM kill, counted by the cgroup', async () => {
      await withSandbox(async (box) => {
        const bundle = await oomBundle(box);
        const id = await box.start(rt, bundle);
        await box.waitStopped(rt, id);
        const memory = box.cgroupDirs(bundle.config.linux.cgroupsPath!).find((d) => d.includes('/memory/'));
        const counter = memory
          ? readFileSync(path.join(memory, 'memory.oom_control'), 'utf8')
          : readFileSync(
              path.join(box.cgroupDirs(bundle.config.linux.cgroupsPath!)[0]!, 'memory.events'),
              'utf8',
            );
        assert.match(counter, /oom_kill [1-9]/, 'the cgroup counted an OOM kill');
      });
    });

    test('an OOM-killed command dies of SIGKILL (status 137)', async () => {
      await withSandbox(async (box) => {
        const bundle = await oomBundle(box);
        const r = await box.run(rt, bundle);
        assert.equal(facts(r.stdout).status, '137', r.stdout + r.stderr);
      });
    });

    test('a fork bomb stops at the pids limit', async () => {
      await withSandbox(async (box) => {
        const bundle = await box.bundle({
          args: ['sh', '-c', 'bomb() { bomb | bomb & }; bomb 2>/dev/null; sleep 1000'],
          resources: { pids: { limit: 16 } },
        });
        const id = await box.start(rt, bundle);
        const pids =
          box.cgroupDirs(bundle.config.linux.cgroupsPath!).find((d) => d.includes('/pids/')) ??
          box.cgroupDirs(bundle.config.linux.cgroupsPath!)[0]!;
        const refused = () =>
          Number(/max (\d+)/.exec(readFileSync(path.join(pids, 'pids.events'), 'utf8'))?.[1] ?? 0);
        const deadline = Date.now() + 10_000;
        while (refused() === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.ok(refused() > 0, 'forks were refused at the limit');
        assert.ok(
          Number(readFileSync(path.join(pids, 'pids.current'), 'utf8')) <= 16,
          'never more than 16 tasks',
        );
        assert.equal((await box.runtime(rt, ['delete', '--force', id])).code, 0);
        assert.ok(!existsSync(pids), 'the bomb is gone with its cgroup');
      });
    });

    test('user namespace: root inside is an unprivileged uid outside', async () => {
      await withSandbox(async (box) => {
        const bundle = await box.bundle({
          args: ['sh', '-c', 'echo uid=$(id -u); echo map=$(cat /proc/self/uid_map | tr -s " ")'],
        });
        bundle.config.linux.namespaces.push({ type: 'user' });
        bundle.config.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        bundle.config.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
        bundle.write();
        const r = await box.run(rt, bundle);
        assert.equal(r.code, 0, r.stderr);
        const f = facts(r.stdout);
        assert.equal(f.uid, '0');
        assert.equal(f.map, ' 0 100000 65536');
      });
    });
  });
}

describe('lxr-runtime refuses what it does not implement', { skip }, () => {
  const lxr: Runtime = runtimes()[0]!;
  for (const [what, edit, message] of [
    [
      'hooks',
      (c: Record<string, unknown>) => Object.assign(c, { hooks: { prestart: [{ path: '/bin/true' }] } }),
      /hooks is not supported/,
    ],
    [
      'an unknown process field',
      (c: Record<string, unknown>) => Object.assign(c.process as object, { frobnicate: 1 }),
      /process\.frobnicate is not supported/,
    ],
    [
      'an AppArmor profile',
      (c: Record<string, unknown>) =>
        Object.assign(c.process as object, { apparmorProfile: 'docker-default' }),
      /apparmorProfile is not supported/,
    ],
    [
      'a time namespace',
      (c: Record<string, unknown>) => (c.linux as { namespaces: object[] }).namespaces.push({ type: 'time' }),
      /namespace time is not supported/,
    ],
    [
      'blockIO limits',
      (c: Record<string, unknown>) =>
        Object.assign((c.linux as { resources: object }).resources, { blockIO: { weight: 10 } }),
      /blockIO is not supported/,
    ],
  ] as const) {
    test(`${what}`, async () => {
      await withSandbox(async (box) => {
        const bundle = await box.bundle({ args: ['true'] });
        edit(bundle.config as unknown as Record<string, unknown>);
        bundle.write();
        const r = await box.run(lxr, bundle);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /^lxr-runtime: config\.json: /);
        assert.match(r.stderr, message);
      });
    });
  }
});

describe('lxr-runtime protects its binary (CVE-2019-5736)', { skip }, () => {
  test('the container’s process runs the runtime from a sealed memfd until exec', async () => {
    await withSandbox(async (box) => {
      const lxr = runtimes()[0]!;
      const bundle = await box.bundle({ args: ['true'] });
      const id = box.id();
      const created = await box.runtime(lxr, ['create', '--bundle', bundle.dir, id], id, { detached: true });
      assert.equal(created.code, 0, created.stderr);
      const { pid } = await box.state(lxr, id);
      // created, not started: PID 1 of the container is still the runtime's code
      assert.match(readlinkSync(`/proc/${pid}/exe`), /^\/memfd:lxr-runtime/);
      assert.throws(() => openSync(`/proc/${pid}/exe`, 'r+'), /ETXTBSY|EPERM|EACCES/);
    });
  });
});

describe('lxr-runtime enforces device rules on the unified hierarchy with a BPF program', { skip }, () => {
  const hybrid = existsSync('/sys/fs/cgroup/unified') && existsSync('/sys/fs/cgroup/devices');
  test('even when the v1 devices cgroup would allow everything', {
    skip: hybrid
      ? false
      : 'needs a hybrid v1+v2 host (on pure v2 the device test above exercises the program alone)',
  }, async () => {
    await withSandbox(async (box) => {
      const lxr = runtimes()[0]!;
      const bundle = await box.bundle({ args: ['sleep', '1000'] });
      const id = await box.start(lxr, bundle);
      const devices = box.cgroupDirs(bundle.config.linux.cgroupsPath!).find((d) => d.includes('/devices/'))!;
      writeFileSync(path.join(devices, 'devices.allow'), 'a');
      const [major, minor] = hostDisk();
      const r = await box.runtime(lxr, [
        'exec',
        id,
        'sh',
        '-c',
        `mknod /dev/xdisk b ${major} ${minor}; head -c1 /dev/xdisk > /dev/null; echo open=$?; echo x > /dev/null; echo null=$?`,
      ]);
      const f = facts(r.stdout);
      assert.notEqual(f.open, '0', 'the BPF program denies the disk');
      assert.equal(f.null, '0', 'and allows /dev/null');
    });
  });
});
