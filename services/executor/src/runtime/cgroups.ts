import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { cgroupPath } from './node-layout.js';

// cgroup v1 (one hierarchy per controller) and v2 (unified) behind one interface: where a
// container's cgroup is, what it uses, and removing what a runtime left behind.

const ROOT = '/sys/fs/cgroup';

/** True on a pure cgroup v2 host (the unified hierarchy at /sys/fs/cgroup holds the memory controller). */
export function isCgroupV2(root = ROOT): boolean {
  try {
    return readFileSync(path.join(root, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('memory');
  } catch {
    return false;
  }
}

/** The v1 hierarchies mounted here (symlinks such as `cpu -> cpu,cpuacct` counted once). */
function v1Hierarchies(root: string): string[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== 'unified')
    .map((e) => e.name);
}

/** Every directory of the container's cgroup on this host (v1: one per hierarchy that exists). */
export function cgroupDirs(id: string, root = ROOT): string[] {
  const rel = cgroupPath(id);
  if (isCgroupV2(root)) return [path.join(root, rel)];
  return v1Hierarchies(root).map((c) => path.join(root, c, rel));
}

/** The directory holding `memory.events` (v2) or `memory.oom_control` (v1): the monitor counts OOM kills there. */
export function memoryCgroupDir(id: string, root = ROOT): string {
  return isCgroupV2(root) ? path.join(root, cgroupPath(id)) : path.join(root, 'memory', cgroupPath(id));
}

/** What a container uses now, as `docker stats` shows it. */
export interface CgroupStats {
  readonly memoryBytes: number;
  /** null when unlimited. */
  readonly memoryLimitBytes: number | null;
  readonly cpuNanoseconds: number;
  readonly pids: number;
  readonly pidsLimit: number | null;
}

const readNumber = async (file: string): Promise<number | null> => {
  try {
    const text = (await readFile(file, 'utf8')).trim();
    if (text === 'max') return null;
    const n = Number(text.split(/\s+/)[0]);
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
};

/** A v1 "no limit" is a huge page-aligned number. */
const limitOrNull = (n: number | null) => (n === null || n >= 2 ** 62 ? null : n);

export async function cgroupStats(id: string, root = ROOT): Promise<CgroupStats> {
  const rel = cgroupPath(id);
  if (isCgroupV2(root)) {
    const dir = path.join(root, rel);
    let usageUsec = 0;
    try {
      const stat = await readFile(path.join(dir, 'cpu.stat'), 'utf8');
      usageUsec = Number(/usage_usec (\d+)/.exec(stat)?.[1] ?? 0);
    } catch {}
    return {
      memoryBytes: (await readNumber(path.join(dir, 'memory.current'))) ?? 0,
      memoryLimitBytes: limitOrNull(await readNumber(path.join(dir, 'memory.max'))),
      cpuNanoseconds: usageUsec * 1000,
      pids: (await readNumber(path.join(dir, 'pids.current'))) ?? 0,
      pidsLimit: limitOrNull(await readNumber(path.join(dir, 'pids.max'))),
    };
  }
  const cpuacct = existsSync(path.join(root, 'cpuacct')) ? 'cpuacct' : 'cpu,cpuacct';
  return {
    memoryBytes: (await readNumber(path.join(root, 'memory', rel, 'memory.usage_in_bytes'))) ?? 0,
    memoryLimitBytes: limitOrNull(await readNumber(path.join(root, 'memory', rel, 'memory.limit_in_bytes'))),
    cpuNanoseconds: (await readNumber(path.join(root, cpuacct, rel, 'cpuacct.usage'))) ?? 0,
    pids: (await readNumber(path.join(root, 'pids', rel, 'pids.current'))) ?? 0,
    pidsLimit: limitOrNull(await readNumber(path.join(root, 'pids', rel, 'pids.max'))),
  };
}

/** Removes the container's (empty) cgroup dirs a runtime left behind; the processes must be gone. */
export async function removeCgroups(id: string, root = ROOT): Promise<void> {
  for (const dir of cgroupDirs(id, root)) {
    try {
      await rmdir(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}
