// Containers end to end, as root: the real CLI against `lxr up` — gateway, image-puller (from a
// registry on loopback), rootfs-builder (the image's layers unpacked and overlay-mounted),
// network-allocator and executor. run, exec, logs, stats, stop/start/restart/kill, rm.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { requiresRoot, startRegistry, type TestRegistry, waitFor } from '@lxr/testkit';
import { createSuite, pushBusybox, type Suite } from './suite.js';

const skip = requiresRoot();

describe('containers end to end', { skip, timeout: 300_000 }, () => {
  let suite: Suite;
  let registry: TestRegistry;
  let image: string;

  before(async () => {
    suite = await createSuite();
    registry = await startRegistry();
    image = await pushBusybox(registry, 'test/busybox');
    const up = await suite.lxr('up');
    assert.equal(up.code, 0, `lxr up failed: ${up.stderr}`);
  });
  after(async () => {
    // Whatever a failed test left running goes first, then the stack.
    const left = await suite?.lxr('ps', '-aq', '--no-trunc');
    for (const id of left?.stdout.split('\n').filter(Boolean) ?? []) await suite.lxr('rm', '-f', id);
    await suite?.dispose();
    await registry?.dispose();
  });

  const psLine = async (name: string) =>
    (await suite.lxr('ps', '-a')).stdout.split('\n').find((l) => l.includes(` ${name} `));

  it('lxr run --rm prints stdout and stderr apart, exits with the status and leaves nothing', async () => {
    const run = await suite.lxr(
      'run',
      '--rm',
      '--name',
      'once',
      image,
      'sh',
      '-c',
      'echo out; echo err >&2; exit 3',
    );
    assert.equal(run.code, 3, run.stderr);
    assert.equal(run.stdout, 'out\n');
    assert.equal(run.stderr, 'err\n');
    assert.equal(await psLine('once'), undefined);
  });

  it('lxr run -i attaches stdin to the main process', async () => {
    const cli = path.resolve(import.meta.dirname, '../../libs/cli/dist/main.js');
    const child = spawn(
      process.execPath,
      [cli, 'run', '--rm', '-i', image, 'sh', '-c', 'read line; echo got-$line; exit 4'],
      { env: suite.env, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    child.stdin?.end('hello\n');
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(stdout, 'got-hello\n');
    assert.equal(code, 4);
  });

  it('lxr run -d, then ps, exec (with exit status), logs and stats', async () => {
    const run = await suite.lxr('run', '-d', '--name', 'web', image, 'sh', '-c', 'echo started; sleep 1000');
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const line = await psLine('web');
    assert.match(line ?? '', /Up .*\d+ +\d+\.\d+\.\d+\.\d+/);

    const exec = await suite.lxr('exec', 'web', 'sh', '-c', 'hostname; echo oops >&2; exit 7');
    assert.equal(exec.code, 7);
    assert.equal(exec.stdout, 'web\n');
    assert.equal(exec.stderr, 'oops\n');
    const env = await suite.lxr(
      'exec',
      '-e',
      'GREETING=hi',
      '-w',
      '/tmp',
      'web',
      'sh',
      '-c',
      'echo $GREETING $PWD',
    );
    assert.equal(env.stdout, 'hi /tmp\n');
    const refused = await suite.lxr('exec', '-w', '/proc/self/fd/3', 'web', 'true');
    assert.notEqual(refused.code, 0, 'a workdir of /proc/self/fd/N is refused');

    await waitFor(async () => (await suite.lxr('logs', 'web')).stdout === 'started\n', 'the log line');
    const stats = await suite.lxr('stats', 'web');
    assert.equal(stats.code, 0, stats.stderr);
    assert.match(stats.stdout, /web .*MiB/);
  });

  it('stop, start, restart and kill go through the executor; rm needs -f while running', async () => {
    const stop = await suite.lxr('stop', '-t', '1', 'web');
    assert.equal(stop.code, 0, stop.stderr);
    assert.match((await psLine('web')) ?? '', /Exited \(143\)/);
    const start = await suite.lxr('start', 'web');
    assert.equal(start.code, 0, start.stderr);
    assert.match((await psLine('web')) ?? '', /Up /);
    const restart = await suite.lxr('restart', '-t', '1', 'web');
    assert.equal(restart.code, 0, restart.stderr);
    const inspect = JSON.parse((await suite.lxr('inspect', 'web')).stdout) as {
      State: { RestartCount: number };
    }[];
    assert.equal(inspect[0]?.State.RestartCount, 2);

    const rm = await suite.lxr('rm', 'web');
    assert.equal(rm.code, 1);
    assert.match(rm.stderr, /is running/);
    const kill = await suite.lxr('kill', '-s', 'TERM', 'web');
    assert.equal(kill.code, 0, kill.stderr);
    await waitFor(async () => /Exited/.test((await psLine('web')) ?? ''), 'web to exit after kill');
  });

  it('rm -f of a running container leaves no process, cgroup or state on the node', async () => {
    const run = await suite.lxr('run', '-d', '--name', 'doomed', image, 'sleep', '1000');
    const id = run.stdout.trim();
    const pid = Number((await psLine('doomed'))?.split(/\s{2,}/)[4]);
    assert.ok(pid > 0);
    const rm = await suite.lxr('rm', '-f', 'doomed');
    assert.equal(rm.code, 0, rm.stderr);
    await waitFor(
      () =>
        !existsSync(`/proc/${pid}`) &&
        !existsSync(`/run/lxr/executor/${id}`) &&
        !existsSync(`/sys/fs/cgroup/memory/lxr/${id}`) &&
        !existsSync(`/sys/fs/cgroup/lxr/${id}`),
      'nothing left of the container',
      15_000,
    );
    // Its overlay is unmounted and its directories are gone.
    await waitFor(
      () => !existsSync(path.join(suite.home, 'rootfs', id)),
      'its root filesystem to go',
      15_000,
    );
  });

  it("the node's tools bundle appears read-only at /opt/lxr in a container", async () => {
    const tools = path.join(suite.home, 'tools');
    await mkdir(path.join(tools, '1.0.0'), { recursive: true });
    await writeFile(path.join(tools, '1.0.0', 'hello'), 'hi from the tools\n');
    await symlink('1.0.0', path.join(tools, 'current'));
    try {
      const cat = await suite.lxr('run', '--rm', image, 'cat', '/opt/lxr/hello');
      assert.equal(cat.code, 0, cat.stderr);
      assert.equal(cat.stdout, 'hi from the tools\n');
      const write = await suite.lxr('run', '--rm', image, 'sh', '-c', 'echo x > /opt/lxr/hello');
      assert.notEqual(write.code, 0);
      assert.match(write.stderr, /Read-only file system/);
    } finally {
      await rm(tools, { recursive: true, force: true });
    }
    const none = await suite.lxr('run', '--rm', image, 'ls', '/opt/lxr');
    assert.notEqual(none.code, 0, 'without a bundle nothing is at /opt/lxr');
  });

  it('lxr system df shows the disk used, and system prune -af gets all of it back', async () => {
    for (const id of (await suite.lxr('ps', '-aq', '--no-trunc')).stdout.split('\n').filter(Boolean))
      await suite.lxr('rm', '-f', id);
    const stopped = await suite.lxr('run', '--name', 'leftover', image, 'sh', '-c', 'echo data > /written');
    assert.equal(stopped.code, 0, stopped.stderr);
    const df = await suite.lxr('system', 'df');
    assert.equal(df.code, 0, df.stderr);
    assert.match(df.stdout, /^Images\s+1\s+1\s/m);
    assert.match(df.stdout, /^Containers\s+1\s+0\s/m);
    assert.match(df.stdout, /^Layer cache\s+1\s+1\s/m);

    const prune = await suite.lxr('system', 'prune', '-af');
    assert.equal(prune.code, 0, prune.stderr);
    assert.match(prune.stdout, /Deleted Containers:\n[0-9a-f]{64}\n/);
    assert.match(prune.stdout, /Deleted Images:/);
    // The layer goes with the image: collected on its ImageRemoved, or by the prune's own collection.
    assert.equal((await suite.lxr('ps', '-aq')).stdout, '');
    assert.equal((await suite.lxr('images', '-q')).stdout, '');
    const after = await suite.lxr('system', 'df');
    assert.match(after.stdout, /^Layer cache\s+0\s+0\s+0B/m);
    assert.deepEqual(await readdir(path.join(suite.home, 'layers', 'sha256')), []);
    assert.deepEqual(await readdir(path.join(suite.home, 'rootfs')), []);
  });
});
