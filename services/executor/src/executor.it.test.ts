// The executor as root, with real PostgreSQL, NATS, monitors and containers (lxr-runtime, or the
// runtime in LXR_RUNTIME): what a container sees from inside, its lifecycle, exec, restarts of the
// executor itself, and that removal leaves nothing behind.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { executorStreamSubject, executorSubject, SessionFrame } from '@lxr/events';
import { nativeDir, requiresRoot, sleep, waitFor } from '@lxr/testkit';
import { isCgroupV2 } from './runtime/cgroups.js';
import { type ExecutorHarness, startExecutorHarness } from './testing/harness.js';

const skip = requiresRoot();
const RUNC = '/usr/sbin/runc';

// The same suite under lxr's runtime and under runc with the same bundles: a differential test.
const runtimes = [
  { name: 'lxr-runtime', path: path.join(nativeDir(), 'lxr-runtime') },
  { name: 'runc', path: RUNC },
];

for (const runtime of runtimes) {
  describe(`executor (${runtime.name})`, {
    skip: skip || (!existsSync(runtime.path) && `${runtime.path} is not installed`),
    concurrency: false,
  }, () => {
    let h: ExecutorHarness;
    before(async () => {
      h = await startExecutorHarness({ runtime: runtime.path });
      await h.startExecutor();
    });
    after(async () => {
      await h?.dispose();
    });

    /** Runs a command to its end and returns its output and exit. */
    const runToEnd = async (command: string[], options: Parameters<ExecutorHarness['create']>[0] = {}) => {
      const id = await h.create({ command, ...options });
      const exited = await h.waitForEvent(id, 'ContainerExited');
      return { id, exited, output: await h.output(id) };
    };

    test('the command runs as a child of PID 1 (lxr-init), with the container name as hostname', async () => {
      const { output, exited } = await runToEnd(
        ['sh', '-c', 'echo ppid=$PPID; hostname; cat /proc/1/cmdline | tr "\\0" " "'],
        {
          name: 'inside-name',
        },
      );
      assert.equal(exited.code, 0);
      const [ppid, hostname, init] = output.trim().split('\n');
      assert.equal(ppid, 'ppid=1');
      assert.equal(hostname, 'inside-name');
      assert.match(init ?? '', /^\/dev\/\.lxr-init -- sh -c/);
    });

    test('only lo and eth0; docker capabilities; masked paths empty', async () => {
      const { output } = await runToEnd([
        'sh',
        '-c',
        'ls /sys/class/net | tr "\\n" " "; echo; grep CapEff /proc/self/status; ' +
          'for f in /proc/kcore /proc/keys /proc/timer_list /proc/latency_stats /proc/sched_debug; do [ -e $f ] && echo "masked $f $(wc -c < $f)"; done; ' +
          'for d in /proc/scsi /sys/firmware /proc/acpi; do [ -d $d ] && echo "masked $d $(ls -A $d | wc -l)"; done',
      ]);
      const lines = output.trim().split('\n');
      assert.equal(lines[0]?.trim(), 'eth0 lo');
      assert.match(lines[1] ?? '', /CapEff:\s+00000000a80425fb/);
      const masked = lines.filter((l) => l.startsWith('masked '));
      assert.ok(masked.length >= 3, `masked paths checked: ${masked.join(', ')}`);
      for (const line of masked) assert.match(line, / 0$/, line);
    });

    test('unshare and mount are denied; /proc/self/fd lists only 0, 1, 2', async () => {
      const { output } = await runToEnd([
        'sh',
        '-c',
        'unshare -U true && echo unshare-ok || echo unshare-denied; mount -t tmpfs none /tmp && echo mount-ok || echo mount-denied; ls /proc/self/fd | tr "\\n" " "',
      ]);
      assert.match(output, /unshare-denied/);
      assert.match(output, /mount-denied/);
      // `ls` opens the directory itself: fd 3 is its own listing.
      assert.match(output, /^0 1 2 3 $/m);
    });

    test('a failed pull fails the container with its code, at once', async () => {
      const id = await h.create({ command: ['true'], pullFails: 'OCI_MANIFEST_UNKNOWN' });
      const failed = await h.waitForEvent(id, 'ContainerFailed');
      assert.equal(failed.code, 'OCI_MANIFEST_UNKNOWN');
      assert.match(failed.message, /could not be pulled: manifest unknown/);
    });

    test('a workdir of /proc/self/fd/N is refused', async () => {
      const id = await h.create({ command: ['true'], workingDir: '/proc/self/fd/7' });
      const failed = await h.waitForEvent(id, 'ContainerFailed');
      assert.match(failed.code, /^EXECUTOR_(CREATE|START)_FAILED$/);
    });

    test('a memory limit leads to an OOM kill reported as such', async () => {
      const { exited } = await runToEnd(['sh', '-c', 'x=a; while true; do x="$x$x"; done'], {
        resources: { memoryBytes: 16 * 1024 * 1024 },
      });
      assert.equal(exited.oomKilled, true);
      assert.equal(exited.code, 137);
    });

    test('cgroup v1: the limits land in the memory, cpu and pids hierarchies', {
      skip: isCgroupV2() && 'this host is cgroup v2',
    }, async () => {
      const id = await h.create({
        command: ['sleep', '1000'],
        resources: { memoryBytes: 64 * 1024 * 1024, cpus: 0.5, pidsLimit: 50 },
      });
      await h.waitForEvent(id, 'ContainerStarted');
      const read = (file: string) => readFile(`/sys/fs/cgroup/${file}`, 'utf8').then((t) => t.trim());
      assert.equal(await read(`memory/lxr/${id}/memory.limit_in_bytes`), String(64 * 1024 * 1024));
      assert.equal(await read(`cpu/lxr/${id}/cpu.cfs_quota_us`), '50000');
      assert.equal(await read(`pids/lxr/${id}/pids.max`), '50');
    });

    test('cgroup v2: the limits land in the unified hierarchy', {
      skip: !isCgroupV2() && 'cgroup v2 controllers are not available here (a cgroup v1 host)',
    }, async () => {
      const id = await h.create({
        command: ['sleep', '1000'],
        resources: { memoryBytes: 64 * 1024 * 1024, cpus: 0.5, pidsLimit: 50 },
      });
      await h.waitForEvent(id, 'ContainerStarted');
      const read = (file: string) =>
        readFile(`/sys/fs/cgroup/lxr/${id}/${file}`, 'utf8').then((t) => t.trim());
      assert.equal(await read('memory.max'), String(64 * 1024 * 1024));
      assert.equal(await read('cpu.max'), '50000 100000');
      assert.equal(await read('pids.max'), '50');
    });

    test('a fork bomb stops at the pids limit', async () => {
      const bomb = ['sh', '-c', 'i=0; while [ $i -lt 60 ]; do sleep 5 & i=$((i+1)); done; echo all-forked'];
      const limited = await runToEnd(bomb, { resources: { pidsLimit: 20 } });
      assert.match(limited.output, /can't fork/);
      assert.notEqual(limited.exited.code, 0);
      // The default limit (2048) lets the same 60 through.
      const unlimited = await runToEnd(bomb);
      assert.match(unlimited.output, /all-forked/);
    });

    test('exec without a tty keeps stdout and stderr apart and propagates the exit code', async () => {
      const id = await h.create({ command: ['sleep', '1000'] });
      await h.waitForEvent(id, 'ContainerStarted');
      const result = await h.exec(
        id,
        {
          args: ['sh', '-c', 'echo out; echo err >&2; cat; exit 3'],
          tty: false,
          interactive: true,
        },
        'from-stdin\n',
      );
      assert.equal(result.stdout, 'out\nfrom-stdin\n');
      assert.equal(result.stderr, 'err\n');
      assert.equal(result.exit.exitCode, 3);
      // A process that exits before the session's proxy loop starts is still reaped and reported.
      for (let i = 0; i < 20; i++) {
        const quick = await h.exec(id, { args: ['true'], tty: false, interactive: false });
        assert.equal(quick.exit.exitCode, 0);
      }
      const refused = await h.exec(id, {
        args: ['true'],
        tty: false,
        interactive: false,
        workingDir: '/proc/self/fd/5',
      });
      assert.ok(refused.exit.error ?? refused.exit.exitCode !== 0, 'a /proc/self/fd workdir must be refused');
    });

    test('exec with a tty: a terminal of the asked size, Ctrl-C', async () => {
      const id = await h.create({ command: ['sleep', '1000'] });
      await h.waitForEvent(id, 'ContainerStarted');
      const result = await h.exec(id, {
        args: ['sh', '-c', 'tty; stty size; exit 5'],
        tty: true,
        interactive: false,
        rows: 33,
        cols: 101,
      });
      assert.match(result.stdout, /\/dev\/pts\/\d+/);
      assert.match(result.stdout, /33 101/);
      assert.equal(result.exit.exitCode, 5);
      // Ctrl-C on the terminal interrupts the foreground process.
      const interrupted = await h.exec(
        id,
        { args: ['sh', '-c', 'echo ready; exec sleep 100'], tty: true, interactive: true },
        { after: /ready/, data: '\x03' },
      );
      assert.equal(interrupted.exit.exitCode, 130);
    });

    test('attach to a -it container: type into its terminal, see the output and its exit', async () => {
      const id = await h.create({ command: ['sh'], tty: true, openStdin: true });
      await h.waitForEvent(id, 'ContainerStarted');
      const session = 'attach' + id.slice(0, 12);
      const { bus, node } = h;
      const out = bus.connection.subscribe(executorStreamSubject(node, 'attach', session, 'out'));
      let output = '';
      let exit: { exitCode?: number } | undefined;
      const done = (async () => {
        for await (const msg of out) {
          if (msg.data[0] === SessionFrame.Exit) {
            exit = JSON.parse(Buffer.from(msg.data.subarray(1)).toString()) as { exitCode?: number };
            out.unsubscribe();
          } else output += Buffer.from(msg.data.subarray(1)).toString();
        }
      })();
      await bus.request(executorSubject(node, 'attach'), { session, containerId: id, rows: 30, cols: 90 });
      const input = executorStreamSubject(node, 'attach', session, 'in');
      bus.connection.publish(
        input,
        Buffer.from([SessionFrame.Stdin, ...Buffer.from('stty size; echo the-$((40+2)); exit 3\n')]),
      );
      await done;
      assert.match(output, /30 90/);
      assert.match(output, /the-42/);
      assert.equal(exit?.exitCode, 3);
      assert.equal((await h.waitForEvent(id, 'ContainerExited')).code, 3);
    });

    test('stop: SIGTERM, then SIGKILL after the timeout', async () => {
      const id = await h.create({ command: ['sh', '-c', 'trap "" TERM; sleep 1000'] });
      await h.waitForEvent(id, 'ContainerStarted');
      await h.append(id, { type: 'ContainerStopRequested', data: { containerId: id, timeoutSeconds: 1 } });
      const exited = await h.waitForEvent(id, 'ContainerExited');
      // SIGKILL cannot be caught nor forwarded: it ends lxr-init itself.
      assert.equal(exited.signal, 'SIGKILL');
      assert.equal(exited.code, 137);
    });

    test('restart policy on-failure:2 restarts twice, then stops', async () => {
      const id = await h.create({
        command: ['sh', '-c', 'exit 4'],
        restartPolicy: { name: 'on-failure', maximumRetryCount: 2 },
      });
      await h.waitForEvent(id, 'ContainerExited', { nth: 3 });
      await sleep(1000);
      const events = await h.events(id);
      assert.equal(events.filter((e) => e.type === 'ContainerStarted').length, 3);
    });

    test('SIGKILL of the executor: the container keeps running and is stopped cleanly after it comes back', async () => {
      const id = await h.create({ command: ['sleep', '1000'] });
      const started = await h.waitForEvent(id, 'ContainerStarted');
      await h.executor()!.kill();
      await sleep(200);
      process.kill(started.pid, 0); // still alive
      await h.append(id, { type: 'ContainerStopRequested', data: { containerId: id, timeoutSeconds: 5 } });
      await h.startExecutor();
      const exited = await h.waitForEvent(id, 'ContainerExited');
      assert.equal(exited.code, 143);
    });

    test('an exit while the executor is down is recorded when it comes back', async () => {
      const id = await h.create({ command: ['sleep', '1000'] });
      const started = await h.waitForEvent(id, 'ContainerStarted');
      await h.executor()!.kill();
      process.kill(started.pid, 'SIGKILL');
      await sleep(300);
      await h.startExecutor();
      const exited = await h.waitForEvent(id, 'ContainerExited');
      assert.equal(exited.code, 137);
    });

    test('removal leaves no process, cgroup, mount, state or namespace user behind', async () => {
      const id = await h.create({ command: ['sh', '-c', 'sleep 1000 & sleep 1000'] });
      await h.waitForEvent(id, 'ContainerStarted');
      assert.notDeepEqual(await h.leftovers(id), []);
      await h.append(id, {
        type: 'ContainerRemoved',
        data: { containerId: id, name: `c-${id.slice(0, 8)}` },
      });
      await waitFor(
        async () => (await h.leftovers(id)).length === 0,
        'nothing left of the container',
        15_000,
      );
    });

    test('--rm removes the container and releases its name once it exits', async () => {
      const id = await h.create({ command: ['true'], autoRemove: true });
      await h.waitForEvent(id, 'ContainerRemoved');
      await waitFor(
        async () => (await h.leftovers(id)).length === 0,
        'nothing left of the container',
        15_000,
      );
    });
  });
}
