// `lxr down --purge`, the executor's part: once the services are stopped, end every container of
// this LXR_HOME and remove what it holds on the node. The runtime root and the monitors' run dir
// are shared by every LXR_HOME on the host, so only this home's container ids are touched: the ones
// with a directory in its containers dir.
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { loadConfig } from '@lxr/service-kit';
import { containersDir, nodeConfigSpec, nodeLayout } from './config.js';
import { ExecutorError, ExecutorErrorCode } from './errors.js';
import { cgroupDirs, removeCgroups } from './runtime/cgroups.js';
import type { NodeLayout } from './runtime/node-layout.js';
import { NodeRuntime } from './runtime/node-runtime.js';

/** What {@link purgeContainers} removed. */
export interface ContainerPurgeReport {
  /** The containers whose traces were removed. */
  readonly containers: readonly string[];
  /** The processes it killed (containers' and monitors'). */
  readonly killed: number;
}

const CONTAINER_ID = /^[0-9a-f]{64}$/;

/** The arguments of an lxr-monitor process (`cmdline` split at NULs), or undefined for any other. */
export function monitorArgs(cmdline: string): string[] | undefined {
  const argv = cmdline.split('\0');
  if (argv.at(-1) === '') argv.pop();
  return argv[0]?.endsWith('lxr-monitor') ? argv.slice(1) : undefined;
}

/**
 * True when the monitor's arguments are those of a monitor of container `id` under this runtime
 * root: the container's own (`--id ID … --runtime-root ROOT`) or an exec's (`exec … --runtime-root
 * ROOT --id ID`).
 */
export function monitors(args: readonly string[], id: string, runtimeRoot: string): boolean {
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  return value('--id') === id && value('--runtime-root') === runtimeRoot;
}

/** The pids in `cgroup.procs` (a zombie has already left it, so it never blocks the rmdir). */
export function parseProcs(text: string): number[] {
  return text
    .split('\n')
    .filter((line) => /^[0-9]+$/.test(line))
    .map(Number);
}

/** True unless the process is a zombie (`/proc/PID/stat`: the state after the command's `)`). */
export function isLiveStat(stat: string): boolean {
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

const readOr = (file: string, fallback: string) => readFile(file, 'utf8').catch(() => fallback);

/** The live processes of container `id`: those in its cgroups, its monitor and its exec monitors. */
async function containerProcesses(layout: NodeLayout, id: string): Promise<number[]> {
  const pids = new Set<number>();
  for (const dir of cgroupDirs(id)) {
    for (const pid of parseProcs(await readOr(path.join(dir, 'cgroup.procs'), ''))) pids.add(pid);
  }
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const args = monitorArgs(await readOr(`/proc/${entry}/cmdline`, ''));
    if (args && monitors(args, id, layout.runtimeRoot)) pids.add(Number(entry));
  }
  const live: number[] = [];
  for (const pid of pids) if (isLiveStat(await readOr(`/proc/${pid}/stat`, ') Z'))) live.push(pid);
  return live;
}

/** The container ids of the running monitors whose `--bundle` is under `dir`. */
async function monitoredIn(dir: string): Promise<string[]> {
  const ids: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const args = monitorArgs(await readOr(`/proc/${entry}/cmdline`, ''));
    const id = args && bundleIn(args, dir);
    if (id) ids.push(id);
  }
  return ids;
}

/** The container id of a container monitor whose `--bundle` is `<dir>/<id>/bundle`. */
export function bundleIn(args: readonly string[], dir: string): string | undefined {
  const i = args.indexOf('--bundle');
  const bundle = i >= 0 ? args[i + 1] : undefined;
  if (bundle === undefined || path.dirname(path.dirname(bundle)) !== path.resolve(dir)) return undefined;
  return path.basename(path.dirname(bundle));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * SIGKILLs the container's processes and monitors until none is left (a process may be forking while
 * it is killed), then lets the executor's own removal delete the runtime's state, the cgroups, the
 * state dir and the container's dir. Answers how many processes it killed.
 */
export async function purgeContainer(runtime: NodeRuntime, id: string, timeoutMs = 10_000): Promise<number> {
  const killed = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  for (let pids = await containerProcesses(runtime.layout, id); pids.length > 0; ) {
    if (Date.now() > deadline) {
      throw new ExecutorError(
        ExecutorErrorCode.PurgeFailed,
        `container ${id.slice(0, 12)}: processes ${pids.join(', ')} still run ${timeoutMs} ms after SIGKILL`,
      );
    }
    for (const pid of pids) {
      runtime.signal(pid, 'SIGKILL');
      killed.add(pid);
    }
    await sleep(20);
    pids = await containerProcesses(runtime.layout, id);
  }
  // The recorded pid is dead now and may be recycled: destroy() must not signal it.
  await rm(runtime.paths(id).pid, { force: true });
  await runtime.destroy(id);
  // The runtime's state dir of a container `delete` refused (its process was already gone).
  await rm(path.join(runtime.layout.runtimeRoot, id), { recursive: true, force: true });
  // destroy() tolerates a cgroup it could not remove; a purge must not.
  try {
    await removeCgroups(id);
  } catch (error) {
    throw new ExecutorError(
      ExecutorErrorCode.PurgeFailed,
      `container ${id.slice(0, 12)}: cannot remove its cgroup: ${(error as Error).message}`,
      { cause: error },
    );
  }
  return killed.size;
}

/**
 * Ends every container the executor of `home` knows and removes its traces on the node: processes,
 * monitors (also the exec ones), the runtime's state, cgroups (v1 and v2), the monitor's state dir,
 * and the executor's directory under `home`. Reads the executor's variables from `env`, as the
 * executor does, so it finds what a differently configured executor made. For `lxr down --purge`,
 * once the services are stopped; a home without containers is fine.
 */
export async function purgeContainers(
  home: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ContainerPurgeReport> {
  const runtime = new NodeRuntime(nodeLayout(loadConfig(nodeConfigSpec, env), home));
  const dirs = await readdir(containersDir(home)).catch(() => [] as string[]);
  // Also the containers whose monitors still run from a bundle of this home whose dir is gone.
  const orphans = await monitoredIn(containersDir(home));
  const ids = [...new Set([...dirs, ...orphans])].filter((name) => CONTAINER_ID.test(name));
  let killed = 0;
  for (const id of ids) killed += await purgeContainer(runtime, id);
  await rm(path.join(home, 'executor'), { recursive: true, force: true });
  return { containers: ids, killed };
}
