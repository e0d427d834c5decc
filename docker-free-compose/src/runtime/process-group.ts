import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** How a process ended: its exit code or signal, or why it could not be started. */
export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  readonly error?: Error;
}

/** A process started as the leader of its own session and process group. */
export interface GroupProcess {
  /** Also the process group id. */
  readonly pid: number | undefined;
  /** Resolves true once the process runs, false when it could not be started. */
  readonly spawned: Promise<boolean>;
  readonly exited: Promise<ExitInfo>;
  alive(): boolean;
  /** Sends `signal` to the whole process group. */
  signal(signal: NodeJS.Signals): void;
}

/** How {@link spawnGroup} starts a process. */
export interface GroupSpawnOptions {
  readonly env: Record<string, string>;
  readonly cwd: string;
  readonly uid?: number;
  readonly gid?: number;
  /** A file descriptor for stdout and stderr (the service's log), or 'ignore'. */
  readonly output: number | 'ignore' | 'pipe';
  /** Written to stdin, which is closed afterwards; stdin is /dev/null otherwise. */
  readonly stdin?: string;
}

/**
 * Starts `argv` in a new session (setsid), so that it and everything it forks form one process group
 * the supervisor can signal as a whole, and so that a terminal's Ctrl-C reaches only the supervisor.
 */
export function spawnGroup(
  argv: readonly string[],
  options: GroupSpawnOptions,
): GroupProcess & {
  readonly stdout: NodeJS.ReadableStream | null;
  readonly stderr: NodeJS.ReadableStream | null;
} {
  const [command, ...args] = argv;
  const child = spawn(command!, args, {
    detached: true,
    cwd: options.cwd,
    env: options.env,
    ...(options.uid !== undefined && { uid: options.uid }),
    ...(options.gid !== undefined && { gid: options.gid }),
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', options.output, options.output],
  });
  if (options.stdin !== undefined && child.stdin) {
    child.stdin.on('error', () => {});
    child.stdin.end(options.stdin);
  }
  const spawned = new Promise<boolean>((resolve) => {
    child.once('spawn', () => resolve(true));
    child.once('error', () => resolve(false));
  });
  const exited = new Promise<ExitInfo>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, error });
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    pid: child.pid,
    spawned,
    exited,
    stdout: child.stdout,
    stderr: child.stderr,
    alive: () => !done,
    signal(signal) {
      if (child.pid !== undefined) signalGroup(child.pid, signal);
    },
  };
}

/** Signals process group `pgid`; false when no process is left in it. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EPERM') return true;
    return false;
  }
}

/**
 * The fields of /proc/<pid>/stat after the command name — state first, so field N of proc(5) is at
 * index N - 3 — or undefined when the process is gone.
 */
function procStat(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The live (non-zombie) processes of process group `pgid`, found in /proc. */
function groupMembers(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      const [state, , pgrp] = procStat(entry) ?? [];
      return Number(pgrp) === pgid && state !== 'Z';
    })
    .map(Number);
}

/**
 * SIGKILLs what is left of process group `pgid` and waits (up to `timeoutMs`) until none of it runs:
 * the leader's children that stayed in its group die with it.
 */
export async function killGroup(pgid: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (signalGroup(pgid, 'SIGKILL') && groupMembers(pgid).length > 0 && Date.now() < deadline)
    await sleep(20);
}

/** Whether process `pid` exists (a zombie counts as gone when /proc says so). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return procStat(pid)?.[0] !== 'Z';
}

/**
 * The start time of `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat), which together with
 * the pid names one process for good: a recycled pid has another start time.
 */
export function processStartTime(pid: number): string | undefined {
  return procStat(pid)?.[19];
}

/** A promise that resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
