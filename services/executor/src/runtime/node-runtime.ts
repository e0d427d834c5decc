import { execFile, spawn } from 'node:child_process';
import { type FSWatcher, watch } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { processExists } from '@lxr/service-kit';
import type { LocalState } from '../domain/container-life.js';
import { ExecutorError, ExecutorErrorCode } from '../errors.js';
import { memoryCgroupDir, removeCgroups } from './cgroups.js';
import { type ContainerPaths, containerPaths, type NodeLayout, runtimeArgs } from './node-layout.js';

const run = promisify(execFile);

/** What the monitor's state dir says about the container's current attempt. */
export type NodeState =
  | LocalState
  | { readonly status: 'lost'; readonly attempt: number; readonly pid: number | null };

export interface LaunchOptions {
  readonly attempt: number;
  readonly tty: boolean;
  readonly openStdin: boolean;
  readonly logMaxSize?: number;
  readonly logMaxFiles?: number;
}

const readText = async (file: string): Promise<string | undefined> => {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
};

/** True when `pid` is an lxr-monitor, not some process that got a recycled pid. */
async function isMonitor(pid: number): Promise<boolean> {
  const cmdline = await readText(`/proc/${pid}/cmdline`).catch(() => undefined);
  return cmdline?.split('\0')[0]?.endsWith('lxr-monitor') ?? false;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The node side of containers: starts each under its own lxr-monitor, reads the monitors' state
 * dirs (which outlive the executor), signals containers and removes every trace of them.
 */
export class NodeRuntime {
  readonly layout: NodeLayout;
  readonly #watchers = new Map<string, FSWatcher>();

  constructor(layout: NodeLayout) {
    this.layout = layout;
  }

  paths(id: string): ContainerPaths {
    return containerPaths(this.layout, id);
  }

  /** Container ids with a monitor state dir on this node. */
  async known(): Promise<string[]> {
    try {
      return (await readdir(this.layout.runDir)).filter((name) => /^[0-9a-f]{64}$/.test(name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  async state(id: string): Promise<NodeState> {
    const p = this.paths(id);
    const attemptText = await readText(p.attempt);
    if (attemptText === undefined) return { status: 'absent' };
    const attempt = Number(attemptText);
    const exitText = await readText(p.exit);
    if (exitText !== undefined) {
      const exit = JSON.parse(exitText) as {
        exitCode: number;
        signal: string | null;
        oomKilled: boolean;
        finishedAt: string;
      };
      return {
        status: 'exited',
        attempt,
        code: exit.exitCode,
        signal: exit.signal,
        oomKilled: exit.oomKilled,
        finishedAt: exit.finishedAt,
      };
    }
    const pidText = await readText(p.pid);
    const pid = pidText === undefined ? null : Number(pidText);
    const monitorText = await readText(p.monitorPid);
    const monitor = monitorText === undefined ? null : Number(monitorText);
    const started = (await readText(p.started)) !== undefined;
    if (pid !== null && monitor !== null && started && processExists(monitor) && (await isMonitor(monitor))) {
      return { status: 'running', attempt, pid };
    }
    // The monitor may have written exit.json between our two reads.
    if ((await readText(p.exit)) !== undefined) return this.state(id);
    return { status: 'lost', attempt, pid };
  }

  /**
   * Starts the container's monitor, which runs `runtime create`, then `runtime start`: resolves
   * with the container's pid once it runs. On failure everything of the attempt is removed.
   */
  async launch(id: string, options: LaunchOptions): Promise<number> {
    const p = this.paths(id);
    await rm(p.state, { recursive: true, force: true });
    await mkdir(p.state, { recursive: true, mode: 0o700 });
    await writeFile(p.attempt, String(options.attempt));
    const args = [
      '--id',
      id,
      '--bundle',
      p.bundle,
      '--runtime',
      this.layout.runtime,
      '--runtime-root',
      this.layout.runtimeRoot,
      '--state-dir',
      p.state,
      '--log-path',
      p.log,
      '--cgroup-path',
      memoryCgroupDir(id),
      '--sync-fd',
      '3',
      ...(options.logMaxSize ? ['--log-max-size', String(options.logMaxSize)] : []),
      ...(options.logMaxFiles ? ['--log-max-files', String(options.logMaxFiles)] : []),
      ...(options.tty ? ['--tty'] : []),
      ...(options.openStdin ? ['--stdin'] : []),
    ];
    let pid: number;
    try {
      pid = await this.#startMonitor(args);
      await this.#runtime(['start', id], ExecutorErrorCode.StartFailed);
    } catch (error) {
      await this.destroy(id, { keepData: true }).catch(() => {});
      throw error;
    }
    await writeFile(p.started, new Date().toISOString());
    return pid;
  }

  /** Spawns lxr-monitor and reads its one sync line: the container's pid, or what failed. */
  #startMonitor(args: string[]): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.layout.monitor, args, {
        stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let sync = '';
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
      });
      const syncPipe = child.stdio[3] as NodeJS.ReadableStream;
      syncPipe.setEncoding('utf8');
      syncPipe.on('data', (chunk: string) => {
        sync += chunk;
      });
      child.once('error', (error) =>
        reject(
          new ExecutorError(
            ExecutorErrorCode.NativeMissing,
            `cannot run ${this.layout.monitor}: ${error.message}`,
          ),
        ),
      );
      syncPipe.once('close', () => {
        const line = sync.trim();
        if (line === '') {
          reject(
            new ExecutorError(
              ExecutorErrorCode.CreateFailed,
              `lxr-monitor ended without reporting${stderr ? `: ${stderr.trim()}` : ''}`,
            ),
          );
          return;
        }
        const result = JSON.parse(line) as { pid?: number; error?: string };
        if (result.pid !== undefined) resolve(result.pid);
        else reject(new ExecutorError(ExecutorErrorCode.CreateFailed, result.error ?? line));
      });
      child.unref();
    });
  }

  async #runtime(args: string[], code: ExecutorErrorCode): Promise<string> {
    try {
      const { stdout } = await run(this.layout.runtime, runtimeArgs(this.layout, ...args));
      return stdout;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      throw new ExecutorError(
        code,
        `${this.layout.runtime} ${args[0]} failed: ${(e.stderr || e.message).trim()}`,
        { cause: error },
      );
    }
  }

  /** Signals the container's init (lxr-init forwards it to the command). */
  signal(pid: number, signal: NodeJS.Signals | number): void {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  /** Calls `onChange` whenever the container's state dir changes (exit.json appears). */
  watch(id: string, onChange: () => void): void {
    if (this.#watchers.has(id)) return;
    try {
      const watcher = watch(this.paths(id).state, (_event, file) => {
        if (file === 'exit.json') onChange();
      });
      watcher.on('error', () => this.unwatch(id));
      this.#watchers.set(id, watcher);
    } catch {
      // The dir is gone: the container was cleaned up meanwhile.
    }
  }

  unwatch(id: string): void {
    this.#watchers.get(id)?.close();
    this.#watchers.delete(id);
  }

  unwatchAll(): void {
    for (const id of [...this.#watchers.keys()]) this.unwatch(id);
  }

  /**
   * Removes the container from the node: kills it (and waits for its monitor to record the exit),
   * deletes the runtime's state and the cgroup, then the state dir and, unless `keepData`, the
   * bundle and logs.
   */
  async destroy(id: string, { keepData = false } = {}): Promise<void> {
    this.unwatch(id);
    const p = this.paths(id);
    const state = await this.state(id);
    if (state.status === 'running' || (state.status === 'lost' && state.pid !== null)) {
      this.signal(state.pid!, 'SIGKILL');
      const monitorText = await readText(p.monitorPid);
      const monitor = monitorText === undefined ? null : Number(monitorText);
      for (
        let i = 0;
        i < 500 && monitor !== null && processExists(monitor) && (await isMonitor(monitor));
        i++
      ) {
        await sleep(10);
      }
    }
    try {
      await this.#runtime(['delete', '--force', id], ExecutorErrorCode.StartFailed);
    } catch {
      // Not known to the runtime (never created, or already deleted).
    }
    await removeCgroups(id).catch(() => {});
    await rm(p.state, { recursive: true, force: true });
    if (!keepData) await rm(p.dir, { recursive: true, force: true });
  }
}
