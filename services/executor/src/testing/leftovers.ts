import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { containersDir } from '../config.js';
import { cgroupDirs } from '../runtime/cgroups.js';

/** Where an executor keeps a container's traces on the node. */
export interface NodeDirs {
  readonly home: string;
  /** LXR_EXECUTOR_RUN_DIR. */
  readonly runDir: string;
  /** LXR_RUNTIME_ROOT. */
  readonly runtimeRoot: string;
}

/**
 * What the node still holds of a container: processes (whose cgroup or command line names it),
 * cgroup dirs, the monitor's state dir, the runtime's state dir, its dir under the home, mounts.
 */
export async function containerLeftovers(dirs: NodeDirs, containerId: string): Promise<string[]> {
  const found: string[] = [];
  for (const dir of cgroupDirs(containerId)) if (existsSync(dir)) found.push(`cgroup ${dir}`);
  for (const dir of [
    path.join(dirs.runDir, containerId),
    path.join(dirs.runtimeRoot, containerId),
    path.join(containersDir(dirs.home), containerId),
  ]) {
    if (existsSync(dir)) found.push(`dir ${dir}`);
  }
  for (const pid of await readdir('/proc').then((l) => l.filter((p) => /^[0-9]+$/.test(p)))) {
    const cgroup = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cgroup.includes(containerId) || cmdline.includes(containerId)) {
      // State and parent (a zombie has no command line): `pid (comm) S ppid …`.
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      found.push(`process ${pid} (${state}, parent ${ppid}) ${cmdline.replaceAll('\0', ' ').trim()}`);
    }
  }
  const mounts = await readFile('/proc/self/mountinfo', 'utf8');
  for (const line of mounts.split('\n')) if (line.includes(containerId)) found.push(`mount ${line}`);
  return found;
}
