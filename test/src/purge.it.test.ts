// `lxr down --purge` as root against a real `lxr up`: whatever containers the tests left — a running
// one with an exec session, a stopped one, a named volume — nothing of them stays on the host, and
// the home can be deleted.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { containerLeftovers } from '@lxr/executor/testing';
import { requiresRoot, startRegistry, type TestRegistry, waitFor } from '@lxr/testkit';
import { createSuite, pushBusybox, type Suite } from './suite.js';

const skip = requiresRoot();

/** The pids whose command line contains every one of `parts`. */
async function processesWith(...parts: string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (parts.every((p) => cmdline.includes(p))) pids.push(Number(entry));
  }
  return pids;
}

describe('lxr down --purge', { skip, timeout: 300_000 }, () => {
  let suite: Suite;
  let registry: TestRegistry;
  let image: string;

  before(async () => {
    suite = await createSuite();
    registry = await startRegistry();
  });
  after(async () => {
    await suite?.dispose();
    await registry?.dispose();
  });

  it("ends the home's containers and leaves no process, mount, cgroup or state of them", async () => {
    image = await pushBusybox(registry, 'test/purge');
    const up = await suite.lxr('up');
    assert.equal(up.code, 0, `lxr up failed: ${up.stderr}`);

    // Running: `sh` with a terminal stays up; a named volume; an exec session in it.
    const live = await suite.lxr('run', '-d', '-i', '-t', '--name', 'live', '-v', 'purgevol:/data', image);
    assert.equal(live.code, 0, live.stderr);
    const liveId = live.stdout.trim();
    const exec = suite.spawnLxr('exec', 'live', 'sleep', '1000');
    await waitFor(
      async () => (await processesWith('lxr-monitor', 'exec', liveId)).length > 0,
      'the exec monitor',
    );
    // Stopped: ran and exited; its overlay stays mounted until it is removed.
    const done = await suite.lxr('run', '--name', 'done', image, 'true');
    assert.equal(done.code, 0, done.stderr);
    const ids = (await suite.lxr('ps', '-aq', '--no-trunc')).stdout.split('\n').filter(Boolean);
    assert.equal(ids.length, 2, `two containers: ${ids.join(', ')}`);
    assert.ok(ids.includes(liveId));
    const monitors = await processesWith('lxr-monitor', liveId);
    assert.ok(monitors.length >= 2, 'the container monitor and the exec monitor run');
    const mounts = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .filter((l) => l.includes(suite.home));
    assert.ok(mounts.length >= 2, 'both overlays are mounted');

    const down = await suite.lxr('down', '--purge');
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stdout, /removed its data under/);
    exec.kill('SIGKILL');

    const dirs = { home: suite.home, runDir: '/run/lxr/executor', runtimeRoot: '/run/lxr/runtime' };
    for (const id of ids) {
      // A killed process may stay a zombie until its parent (init, once its monitor died) reaps it.
      const live = (await containerLeftovers(dirs, id)).filter((l) => !/^process \d+ \(Z,/.test(l));
      assert.deepEqual(live, [], `container ${id}`);
    }
    await waitFor(
      async () => (await Promise.all(ids.map((id) => containerLeftovers(dirs, id)))).flat().length === 0,
      'the zombies of the containers reaped',
    );
    for (const pid of monitors) assert.ok(!existsSync(`/proc/${pid}`), `monitor ${pid} is gone`);
    const left = (await readFile('/proc/self/mountinfo', 'utf8'))
      .split('\n')
      .filter((l) => l.includes(suite.home));
    assert.deepEqual(left, [], 'no mount under the home');
    // The volume went with the event log that recorded it; the caches stay.
    for (const dir of ['rootfs', 'volumes', 'executor', 'postgres', 'nats']) {
      assert.ok(!existsSync(path.join(suite.home, dir)), `${dir} is deleted`);
    }
    for (const dir of ['layers', 'images']) assert.ok(existsSync(path.join(suite.home, dir)), `${dir} stays`);
  });

  it('the next lxr up starts from the kept caches with no volume, and the home can be deleted', async () => {
    // Without the registry: the image must come from the kept image store and layer cache.
    await registry.dispose();
    const up = await suite.lxr('up');
    assert.equal(up.code, 0, `lxr up after the purge failed: ${up.stderr}`);
    const images = await suite.lxr('images');
    assert.match(images.stdout, /test\/purge/);
    const run = await suite.lxr('run', '--rm', image, 'sh', '-c', 'ls /data 2>&1; echo ran');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /ran\n$/);
    const volumes = await suite.lxr('volume', 'ls');
    assert.equal(volumes.code, 0, volumes.stderr);
    assert.doesNotMatch(volumes.stdout, /purgevol/);
    const down = await suite.lxr('down', '--purge');
    assert.equal(down.code, 0, down.stderr);
    await rm(suite.home, { recursive: true });
    assert.ok(!existsSync(suite.home));
  });

  it('a second purge of a home with nothing left is fine', async () => {
    const again = await suite.lxr('down', '--purge');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /lxr was not running/);
  });
});
