// cgroup v1 and v2 behind one interface, on directory trees shaped like each (this machine is v1;
// the real v2 hierarchy is exercised wherever the tests run on a v2 host).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { cgroupDirs, cgroupStats, isCgroupV2, memoryCgroupDir } from './cgroups.js';

const ID = 'b'.repeat(64);
const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

async function tree(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'lxr-cgroup-'));
  roots.push(root);
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, file)), { recursive: true });
    await writeFile(path.join(root, file), text);
  }
  return root;
}

describe('cgroups', () => {
  it('v2: one unified directory, memory.current/max, cpu.stat, pids', async () => {
    const root = await tree({
      'cgroup.controllers': 'cpuset cpu io memory pids\n',
      [`lxr/${ID}/memory.current`]: '1048576\n',
      [`lxr/${ID}/memory.max`]: 'max\n',
      [`lxr/${ID}/cpu.stat`]: 'usage_usec 2500\nuser_usec 2000\n',
      [`lxr/${ID}/pids.current`]: '3\n',
      [`lxr/${ID}/pids.max`]: '2048\n',
    });
    assert.equal(isCgroupV2(root), true);
    assert.deepEqual(cgroupDirs(ID, root), [path.join(root, 'lxr', ID)]);
    assert.equal(memoryCgroupDir(ID, root), path.join(root, 'lxr', ID));
    assert.deepEqual(await cgroupStats(ID, root), {
      memoryBytes: 1048576,
      memoryLimitBytes: null,
      cpuNanoseconds: 2_500_000,
      pids: 3,
      pidsLimit: 2048,
    });
  });

  it('v1: one directory per hierarchy, usage_in_bytes, cpuacct.usage, an unlimited limit as null', async () => {
    const root = await tree({
      [`memory/lxr/${ID}/memory.usage_in_bytes`]: '4096\n',
      [`memory/lxr/${ID}/memory.limit_in_bytes`]: '9223372036854771712\n',
      [`cpuacct/lxr/${ID}/cpuacct.usage`]: '123456\n',
      [`pids/lxr/${ID}/pids.current`]: '1\n',
      [`pids/lxr/${ID}/pids.max`]: 'max\n',
      'unified/cgroup.controllers': '',
    });
    assert.equal(isCgroupV2(root), false);
    assert.deepEqual(
      cgroupDirs(ID, root).sort(),
      ['cpuacct', 'memory', 'pids'].map((c) => path.join(root, c, 'lxr', ID)),
    );
    assert.equal(memoryCgroupDir(ID, root), path.join(root, 'memory', 'lxr', ID));
    assert.deepEqual(await cgroupStats(ID, root), {
      memoryBytes: 4096,
      memoryLimitBytes: null,
      cpuNanoseconds: 123456,
      pids: 1,
      pidsLimit: null,
    });
  });
});
