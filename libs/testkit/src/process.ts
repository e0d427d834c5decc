import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';

/** A child process whose output goes to a log file, stoppable with a grace period. */
export interface ManagedProcess {
  readonly child: ChildProcess;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once; resolves when the process is gone. */
  kill(): Promise<void>;
}

export function startProcess(
  command: string,
  args: readonly string[],
  logFile: string,
  options: SpawnOptions = {},
): ManagedProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  exited.then(() => log.end());
  const alive = () => child.exitCode === null && child.signalCode === null && child.pid !== undefined;
  return {
    child,
    logFile,
    async stop(graceMs = 10_000) {
      if (!alive()) return exited;
      child.kill('SIGTERM');
      const timer = setTimeout(() => alive() && child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (alive()) child.kill('SIGKILL');
      await exited;
    },
  };
}

/**
 * Starts an lxr service's `main.js` with its health server on a free port and waits until its
 * `/readyz` answers; a service that exits first fails with the end of its log.
 *
 * @example
 * const executor = await startService(EXECUTOR_MAIN, path.join(home, 'executor.log'), env, 'the executor');
 */
export async function startService(
  main: string,
  logFile: string,
  env: NodeJS.ProcessEnv,
  what: string,
): Promise<ManagedProcess & { readonly healthPort: number }> {
  const healthPort = await freePort();
  const proc = startProcess(process.execPath, [main], logFile, {
    env: { ...env, LXR_HEALTH_PORT: String(healthPort) },
  });
  try {
    await waitFor(
      async () => {
        if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
          const log = await readFile(logFile, 'utf8').catch(() => '');
          throw new Error(`${what} exited before it was ready:\n${log.split('\n').slice(-8).join('\n')}`);
        }
        const res = await fetch(`http://127.0.0.1:${healthPort}/readyz`).catch(() => undefined);
        return res?.ok === true;
      },
      `${what} to be ready`,
      30_000,
      50,
    );
  } catch (error) {
    await proc.kill();
    throw error;
  }
  return Object.assign(proc, { healthPort });
}
