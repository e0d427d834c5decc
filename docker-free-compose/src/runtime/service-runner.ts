import { EventEmitter } from 'node:events';
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';
import { chown, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BackoffSpec, Dependency, InitStep, ServiceSpec } from '../config/compose-file.js';
import type { HomeLayout } from '../home-layout.js';
import type { ServiceState, ServiceStatus } from '../status.js';
import type { Logger } from './logger.js';
import {
  type ExitInfo,
  type GroupProcess,
  killGroup,
  processStartTime,
  signalGroup,
  sleep,
  spawnGroup,
} from './process-group.js';
import { probe } from './readiness.js';
import { describeExit, restartDelay, shouldRestart } from './restart-policy.js';
import { withSecretFiles } from './secrets.js';
import { lookupUser, type UserAccount } from './users.js';

/** How long a service without a readiness probe must stay up to count as ready. */
const STARTUP_WITHOUT_PROBE_MS = 1000;

/** What a {@link ServiceRunner} gets from the supervisor. */
export interface RunnerContext {
  readonly layout: HomeLayout;
  readonly backoff: BackoffSpec;
  readonly log: Logger;
  /** The environment every process starts from (PATH, locale, OTEL_*), before the service's own. */
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, string>>;
  /** Whether `user:` is honoured: only root can run processes as another user. */
  readonly root: boolean;
  /** Resolves true once `dep` meets its condition, false when `signal` aborts first. */
  waitFor(dep: Dependency, signal: AbortSignal): Promise<boolean>;
}

/** The process group of a running service, as recorded for cleanup after a supervisor crash. */
export interface RunningProcess {
  readonly service: string;
  readonly pid: number;
  readonly startTime: string | undefined;
  readonly stopSignal: NodeJS.Signals;
  readonly graceMs: number;
}

/**
 * Runs one service for the supervisor: directories and init steps once, then the process, started after
 * its dependencies are ready, probed for readiness, restarted with backoff when it crashes, and stopped
 * with its stop signal and then SIGKILL. Emits `change` whenever its status changes.
 */
export class ServiceRunner extends EventEmitter<{ change: [] }> {
  private state: ServiceState = 'pending';
  private since = new Date().toISOString();
  private restarts = 0;
  private lastError: string | undefined;
  private proc: GroupProcess | undefined;
  /** What {@link running} reports while `proc` is alive; the start time is read from /proc once. */
  private procRecord: RunningProcess | undefined;
  private initialized = false;
  private lifecycle: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(
    readonly spec: ServiceSpec,
    private readonly ctx: RunnerContext,
  ) {
    super();
    // Every dependent waiting for this service listens to `change`.
    this.setMaxListeners(0);
  }

  /** The status reported by the control endpoint. */
  status(): ServiceStatus {
    return {
      name: this.spec.name,
      state: this.state,
      pid: this.proc?.alive() ? (this.proc.pid ?? null) : null,
      restarts: this.restarts,
      since: this.since,
      logFile: this.ctx.layout.logFile(this.spec.name),
      ...(this.lastError !== undefined && { lastError: this.lastError }),
    };
  }

  get currentState(): ServiceState {
    return this.state;
  }

  /** The running process group, if any. */
  running(): RunningProcess | undefined {
    return this.proc?.alive() ? this.procRecord : undefined;
  }

  /** Starts the lifecycle; a no-op when it is already running or the service is being stopped. */
  start(): void {
    if (this.stopping.signal.aborted) return;
    this.lifecycle ??= this.run().catch((error: unknown) => {
      this.set('failed', `supervisor error: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  /** Starts a `failed` service again (re-running init steps that did not complete). */
  retry(): void {
    if (this.state !== 'failed' || this.stopping.signal.aborted) return;
    this.restarts = 0;
    this.set('pending');
    this.lifecycle = undefined;
    this.start();
  }

  /** Forbids any further start or restart, leaving a running process alone until {@link stop}. */
  halt(): void {
    this.stopping.abort();
  }

  /**
   * Stops the service for good: no further restarts; the process gets its stop signal, then SIGKILL after
   * the grace period; resolves once its whole process group is gone.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    const proc = this.proc;
    if (proc?.alive() && proc.pid !== undefined) {
      this.set('stopping');
      this.log(`stopping pid ${proc.pid} with ${this.spec.stopSignal}`);
      proc.signal(this.spec.stopSignal);
      const timer = setTimeout(() => {
        this.log(`still running after ${this.spec.stopGracePeriodMs} ms: SIGKILL`);
        proc.signal('SIGKILL');
      }, this.spec.stopGracePeriodMs);
      await proc.exited;
      clearTimeout(timer);
      // Whatever the leader left behind in its group goes too.
      await killGroup(proc.pid);
    }
    await this.lifecycle;
    if (this.state !== 'failed') this.set('stopped');
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    let attempt = 0;
    while (!signal.aborted) {
      if (!(await this.waitForDependencies(signal))) break;
      if (!this.initialized) {
        try {
          await this.prepare();
        } catch (error) {
          if (signal.aborted) break;
          this.set('failed', error instanceof Error ? error.message : String(error));
          this.ctx.log.error(`${this.spec.name}: ${this.lastError}`);
          return;
        }
        this.initialized = true;
        if (signal.aborted) break;
      }
      const startedAt = Date.now();
      const exit = await this.runOnce();
      if (signal.aborted) break;
      const reason = describeExit(exit);
      if (exit.error) {
        this.set('failed', `${this.spec.command[0]}: ${reason}`);
        return;
      }
      if (!shouldRestart(this.spec.restart, exit)) {
        this.set(exit.code === 0 ? 'stopped' : 'failed', reason);
        this.log(`${reason}; restart: ${this.spec.restart}`);
        return;
      }
      if (Date.now() - startedAt >= this.ctx.backoff.resetAfterMs) attempt = 0;
      const delay = restartDelay(this.ctx.backoff, attempt);
      attempt += 1;
      this.restarts += 1;
      this.set('restarting', `${reason}; restart ${this.restarts} in ${delay} ms`);
      this.log(this.lastError!);
      await sleep(delay, signal);
    }
    if (this.state !== 'failed') this.set('stopped');
  }

  private async waitForDependencies(signal: AbortSignal): Promise<boolean> {
    for (const dep of this.spec.dependsOn) {
      if (!(await this.ctx.waitFor(dep, signal))) return false;
    }
    return !signal.aborted;
  }

  /** Spawns the process and probes it until it exits. */
  private async runOnce(): Promise<ExitInfo> {
    const account = await this.account(this.spec.user);
    // stop() may have run while we looked the user up; it saw no process, so start none.
    if (this.stopping.signal.aborted) return { code: 0, signal: null };
    this.set('starting');
    const proc = this.spawn(this.spec.command, account, {});
    if (!(await proc.spawned)) return proc.exited;
    this.log(`started pid ${proc.pid}: ${this.spec.command.join(' ')}`);
    this.emit('change');
    const readiness = this.spec.readiness;
    const live = () => proc.alive() && !this.stopping.signal.aborted;
    if (!readiness) {
      // Without a probe, a process that stays up a moment counts as ready (supervisord's `startsecs`).
      await Promise.race([sleep(STARTUP_WITHOUT_PROBE_MS, this.stopping.signal), proc.exited]);
      if (live()) this.set('ready');
      return this.finish(proc);
    }
    const probeContext = {
      timeoutMs: readiness.timeoutMs,
      env: this.env(account, {}),
      cwd: this.cwd(),
      ...(account && { uid: account.uid, gid: account.gid }),
      signal: this.stopping.signal,
    };
    let everReady = false;
    let failures = 0;
    while (live()) {
      await Promise.race([sleep(everReady ? readiness.intervalMs : readiness.startIntervalMs), proc.exited]);
      if (!live()) break;
      const result = await probe(readiness.check, probeContext);
      if (!live()) break;
      if (result.ok) {
        failures = 0;
        if (!everReady) this.log('ready');
        everReady = true;
        if (this.state !== 'ready') this.set('ready');
      } else if (everReady) {
        failures += 1;
        if (failures >= readiness.retries && this.state === 'ready') {
          this.set('unhealthy', result.detail);
          this.log(`unhealthy: ${result.detail}`);
        }
      } else {
        this.lastError = result.detail;
      }
    }
    return this.finish(proc);
  }

  private async finish(proc: GroupProcess): Promise<ExitInfo> {
    const exit = await this.reap(proc);
    this.log(`pid ${proc.pid} ${describeExit(exit)}`);
    this.emit('change');
    return exit;
  }

  /** Waits for `proc` to exit, then SIGKILLs whatever it left in its process group. */
  private async reap(proc: GroupProcess): Promise<ExitInfo> {
    const exit = await proc.exited;
    if (proc.pid !== undefined) signalGroup(proc.pid, 'SIGKILL');
    this.proc = undefined;
    return exit;
  }

  /** Creates the service's directories and runs its init steps whose `creates` path is missing. */
  private async prepare(): Promise<void> {
    const serviceAccount = await this.account(this.spec.user);
    for (const dir of this.spec.directories) await this.makeDirectory(dir, serviceAccount);
    for (const step of this.spec.init) {
      if (step.creates && existsSync(step.creates)) continue;
      await this.runInitStep(step, step.user === undefined ? serviceAccount : await this.account(step.user));
    }
  }

  private async runInitStep(step: InitStep, account: UserAccount | undefined): Promise<void> {
    this.set('starting');
    const { layout, secrets } = this.ctx;
    const exit = await withSecretFiles(layout.runSecrets, step.secrets, secrets, account, async () => {
      if (this.stopping.signal.aborted) return { code: null, signal: null };
      const proc = this.spawn(step.command, account, step.environment, step.stdin);
      this.log(`init ${step.label}: ${step.command.join(' ')}`);
      this.emit('change');
      return this.reap(proc);
    });
    if (this.stopping.signal.aborted) throw new Error('stopped during init');
    if (exit.error || exit.code !== 0) {
      throw new Error(
        `init step ${step.label} (${step.command[0]}) ${describeExit(exit)}; see ${layout.logFile(this.spec.name)}`,
      );
    }
    if (step.creates && !existsSync(step.creates)) {
      // The step succeeded without making its `creates` path: make it a marker so it runs only once.
      await writeFile(step.creates, '');
      if (account) await chown(step.creates, account.uid, account.gid);
    }
  }

  private async makeDirectory(dir: string, account: UserAccount | undefined): Promise<void> {
    await mkdir(path.dirname(dir), { recursive: true, mode: 0o755 });
    await mkdir(dir, { mode: 0o700 }).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw error;
    });
    if (!account) return;
    await chown(dir, account.uid, account.gid);
    for (let p = path.dirname(dir); ; p = path.dirname(p)) {
      const st = await stat(p);
      const traversable =
        (st.mode & 0o001) !== 0 ||
        (st.uid === account.uid && (st.mode & 0o100) !== 0) ||
        (st.gid === account.gid && (st.mode & 0o010) !== 0);
      if (!traversable) {
        throw new Error(
          `user ${account.name} cannot reach ${dir}: ${p} has mode ${(st.mode & 0o777).toString(8)}; ` +
            `run \`chmod o+x ${p}\` or choose another LXR_HOME`,
        );
      }
      if (p === path.dirname(p)) break;
    }
  }

  private spawn(
    argv: readonly string[],
    account: UserAccount | undefined,
    extraEnv: Readonly<Record<string, string>>,
    stdin?: string,
  ): GroupProcess {
    const fd = openSync(this.ctx.layout.logFile(this.spec.name), 'a', 0o640);
    try {
      writeSync(fd, `--- ${new Date().toISOString()} lxr-compose: ${argv.join(' ')}\n`);
      const proc = spawnGroup(argv, {
        env: this.env(account, extraEnv),
        cwd: this.cwd(),
        ...(account && { uid: account.uid, gid: account.gid }),
        output: fd,
        ...(stdin !== undefined && { stdin }),
      });
      this.proc = proc;
      this.procRecord = proc.pid === undefined ? undefined : this.record(proc.pid);
      return proc;
    } finally {
      closeSync(fd);
    }
  }

  /** Read right after the spawn, while the process cannot have been reaped yet. */
  private record(pid: number): RunningProcess {
    return {
      service: this.spec.name,
      pid,
      startTime: processStartTime(pid),
      stopSignal: this.spec.stopSignal,
      graceMs: this.spec.stopGracePeriodMs,
    };
  }

  private env(
    account: UserAccount | undefined,
    extra: Readonly<Record<string, string>>,
  ): Record<string, string> {
    return {
      ...this.ctx.baseEnv,
      ...(account && { HOME: account.home, USER: account.name, LOGNAME: account.name }),
      ...this.spec.environment,
      ...extra,
    };
  }

  private cwd(): string {
    return this.spec.workingDir ?? this.ctx.layout.home;
  }

  private async account(user: string | undefined): Promise<UserAccount | undefined> {
    if (user === undefined || !this.ctx.root) return undefined;
    return lookupUser(user);
  }

  private set(state: ServiceState, lastError?: string): void {
    if (state !== this.state) this.since = new Date().toISOString();
    this.state = state;
    // A crash's reason stays visible while the service starts again, until it is ready.
    if (lastError !== undefined || state === 'ready') this.lastError = lastError;
    this.emit('change');
  }

  private log(message: string): void {
    this.ctx.log.info(`${this.spec.name}: ${message}`);
  }
}
