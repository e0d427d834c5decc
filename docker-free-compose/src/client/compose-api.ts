import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { ComposeError, ComposeErrorCode } from '../errors.js';
import { type HomeLayout, homeLayout } from '../home-layout.js';
import { daemonEntry } from '../package-paths.js';
import { stopLeftovers } from '../runtime/leftovers.js';
import { processAlive, sleep } from '../runtime/process-group.js';
import type { ComposeOptions, ComposeStatus, ServiceStatus } from '../status.js';
import { controlRequest, fetchStatus, NotRunningError, retryFailed } from './control-client.js';

/** A service that crashed this many times without being ready makes `composeUp` give up on it. */
const UP_MAX_CRASHES = 3;
const POLL_MS = 200;

/** null when no supervisor is running. */
export function composeStatus(options: ComposeOptions): Promise<ComposeStatus | null> {
  return fetchStatus(homeLayout(options.lxrHome).socket);
}

/**
 * Starts the supervisor as a detached daemon (or finds it running) and resolves when every service is
 * ready; rejects naming the service that failed and its log file. A running supervisor is asked to start
 * its failed services again, so `up` twice is harmless. On rejection the services stay as they are:
 * call {@link composeDown} to stop them.
 *
 * @example
 * const status = await composeUp({ lxrHome: '/var/lib/lxr', onProgress: (s) => render(s.services) });
 */
export async function composeUp(
  options: ComposeOptions & { timeoutMs?: number; onProgress?: (s: ComposeStatus) => void },
): Promise<ComposeStatus> {
  const layout = homeLayout(options.lxrHome);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  let daemon: Daemon | undefined;
  // A running supervisor is asked to start its failed services again; it answers with its status.
  let status = await retryFailed(layout.socket);
  let reported = '';
  for (;;) {
    if (status) {
      const key = JSON.stringify(status.services.map((s) => [s.state, s.pid, s.restarts]));
      if (key !== reported) {
        reported = key;
        options.onProgress?.(status);
      }
      const broken = status.services.find(isBroken);
      if (broken) throw serviceFailed(broken);
      if (status.services.every((s) => s.state === 'ready')) return status;
    } else if (!daemon) {
      // None running (or the one we found has just exited, e.g. a concurrent down): start one.
      daemon = startDaemon(options, layout);
    } else if (daemon.exit) {
      // Exit code 3: another `up` started a supervisor first; keep waiting for that one.
      if (daemon.exit.code !== 3) throw daemonFailure(layout, daemon.exit);
    }
    if (Date.now() > deadline) throw notReady(status, layout, timeoutMs);
    await sleep(POLL_MS);
    status = await fetchStatus(layout.socket);
  }
}

/**
 * Asks the supervisor to stop everything in reverse order and waits until no process is left. `purge`
 * also deletes LXR_HOME's data (nats, postgres, logs, secrets). Processes left by a supervisor that
 * died are stopped too. Resolves at once when nothing runs.
 */
export async function composeDown(
  options: ComposeOptions & { timeoutMs?: number; purge?: boolean },
): Promise<void> {
  const layout = homeLayout(options.lxrHome);
  const timeoutMs = options.timeoutMs ?? 120_000;
  const deadline = Date.now() + timeoutMs;
  const status = await fetchStatus(layout.socket);
  const pid = status?.supervisorPid ?? unansweringSupervisor(layout);
  let forced = false;
  if (pid !== undefined) {
    if (status) {
      await controlRequest(layout.socket, 'POST', '/down').catch((error: unknown) => {
        if (!(error instanceof NotRunningError)) throw error;
      });
    } else {
      process.kill(pid, 'SIGTERM');
    }
    while (processAlive(pid)) {
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        forced = true;
        break;
      }
      await sleep(100);
    }
  }
  await stopLeftovers(layout.childrenFile);
  if (forced) {
    rmSync(layout.socket, { force: true });
    rmSync(layout.pidFile, { force: true });
    throw new ComposeError(
      ComposeErrorCode.Timeout,
      `the supervisor (pid ${pid}) did not finish stopping within ${timeoutMs} ms; ` +
        `it and its processes were killed (see ${layout.supervisorLog})` +
        (options.purge ? '; run down --purge again to delete the data' : ''),
    );
  }
  if (options.purge) {
    for (const dir of layout.purgeable) await rm(dir, { recursive: true, force: true });
  }
}

interface Daemon {
  exit?: { code: number | null; signal: NodeJS.Signals | null; error?: Error };
}

/** `node dist/main.js run …` in its own session, output appended to supervisor.log. */
function startDaemon(options: ComposeOptions, layout: HomeLayout): Daemon {
  mkdirSync(layout.logs, { recursive: true, mode: 0o755 });
  rmSync(layout.errorFile, { force: true });
  const args = [daemonEntry, 'run', '--lxr-home', layout.home];
  if (options.file) args.push('--file', path.resolve(options.file));
  const fd = openSync(layout.supervisorLog, 'a', 0o640);
  const daemon: Daemon = {};
  try {
    const child = spawn(process.execPath, args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...options.env },
      cwd: '/',
    });
    child.once('exit', (code, signal) => {
      daemon.exit = { code, signal };
    });
    child.once('error', (error) => {
      daemon.exit = { code: null, signal: null, error };
    });
    child.unref();
  } finally {
    closeSync(fd);
  }
  return daemon;
}

/** A supervisor whose pid file names a live `main.js run` but whose socket does not answer. */
function unansweringSupervisor(layout: HomeLayout): number | undefined {
  try {
    const pid = Number(readFileSync(layout.pidFile, 'utf8').trim());
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return cmdline.includes(daemonEntry) && cmdline.includes('run') ? pid : undefined;
  } catch {
    return undefined;
  }
}

function isBroken(s: ServiceStatus): boolean {
  return (
    s.state === 'failed' || s.state === 'stopped' || (s.restarts >= UP_MAX_CRASHES && s.state !== 'ready')
  );
}

function serviceFailed(s: ServiceStatus): ComposeError {
  const what = s.state === 'failed' || s.state === 'stopped' ? s.state : `crashed ${s.restarts} times`;
  return new ComposeError(
    ComposeErrorCode.ServiceFailed,
    `service ${s.name} ${what}${s.lastError ? ` (${s.lastError})` : ''}; see ${s.logFile}`,
  );
}

function notReady(status: ComposeStatus | null, layout: HomeLayout, timeoutMs: number): ComposeError {
  if (!status) {
    return new ComposeError(
      ComposeErrorCode.Timeout,
      `the supervisor did not answer on ${layout.socket} within ${timeoutMs} ms; see ${layout.supervisorLog}`,
    );
  }
  const waiting = status.services
    .filter((s) => s.state !== 'ready')
    .map((s) => `${s.name} (${s.state}${s.lastError ? `: ${s.lastError}` : ''}; see ${s.logFile})`);
  return new ComposeError(
    ComposeErrorCode.Timeout,
    `not ready within ${timeoutMs} ms: ${waiting.join(', ')}`,
  );
}

function daemonFailure(layout: HomeLayout, exit: NonNullable<Daemon['exit']>): ComposeError {
  try {
    const { code, message } = JSON.parse(readFileSync(layout.errorFile, 'utf8')) as {
      code: ComposeErrorCode;
      message: string;
    };
    return new ComposeError(code, message);
  } catch {
    const why = exit.error
      ? exit.error.message
      : exit.signal
        ? `killed by ${exit.signal}`
        : `code ${exit.code}`;
    let tail = '';
    try {
      tail = readFileSync(layout.supervisorLog, 'utf8').trimEnd().split('\n').slice(-10).join('\n');
    } catch {
      // No log: the message says where it would be.
    }
    return new ComposeError(
      ComposeErrorCode.SupervisorExited,
      `the supervisor exited (${why}) before the services were ready; see ${layout.supervisorLog}` +
        (tail ? `:\n${tail}` : ''),
    );
  }
}
