import { EventEmitter } from 'node:events';
import { type ComposeConfig, type Dependency, dependencyEdges } from '../config/compose-file.js';
import { dependentsOf } from '../config/graph.js';
import type { HomeLayout } from '../home-layout.js';
import type { ComposeStatus, ServiceState } from '../status.js';
import type { Logger } from './logger.js';
import { type RunningProcess, ServiceRunner } from './service-runner.js';

/** What the supervisor needs besides the compose file. */
export interface SupervisorOptions {
  readonly config: ComposeConfig;
  readonly layout: HomeLayout;
  readonly log: Logger;
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly secrets: Readonly<Record<string, string>>;
  /** Whether `user:` is honoured (the supervisor runs as root). */
  readonly root: boolean;
}

const STARTED: readonly ServiceState[] = ['starting', 'ready', 'unhealthy'];

/**
 * Runs every service of a compose file: each starts once its dependencies meet their condition, and
 * {@link down} stops them in reverse dependency order. Emits `change` on any service's status change.
 */
export class Supervisor extends EventEmitter<{ change: [] }> {
  readonly startedAt = new Date().toISOString();
  private readonly runners = new Map<string, ServiceRunner>();
  private readonly edges: ReadonlyMap<string, readonly string[]>;
  private stopping: Promise<void> | undefined;

  constructor(private readonly options: SupervisorOptions) {
    super();
    const { config, layout, log, baseEnv, secrets, root } = options;
    const context = {
      layout,
      backoff: config.backoff,
      log,
      baseEnv,
      secrets,
      root,
      waitFor: (dep: Dependency, signal: AbortSignal) => this.waitFor(dep, signal),
    };
    for (const spec of config.services) {
      const runner = new ServiceRunner(spec, context);
      runner.on('change', () => this.emit('change'));
      this.runners.set(spec.name, runner);
    }
    this.edges = dependencyEdges(config.services);
  }

  /** Starts every service (each waits for its dependencies); after {@link down}, a no-op. */
  start(): void {
    for (const runner of this.runners.values()) runner.start();
  }

  /** Starts the `failed` services again: what a second `up` does. */
  retryFailed(): void {
    for (const runner of this.runners.values()) runner.retry();
  }

  /** Every service's status, in start order. */
  status(): ComposeStatus {
    return {
      supervisorPid: process.pid,
      lxrHome: this.options.layout.home,
      startedAt: this.startedAt,
      services: [...this.runners.values()].map((r) => r.status()),
    };
  }

  /** The process groups running now. */
  running(): RunningProcess[] {
    return [...this.runners.values()].flatMap((r) => r.running() ?? []);
  }

  /**
   * Stops everything: nothing starts or restarts any more, then each service is stopped once every
   * service depending on it has stopped. Resolves when every process group is gone. Idempotent.
   */
  down(): Promise<void> {
    this.stopping ??= this.stopAll();
    return this.stopping;
  }

  private async stopAll(): Promise<void> {
    this.options.log.info('stopping all services in reverse dependency order');
    for (const runner of this.runners.values()) runner.halt();
    const stops = new Map<string, Promise<void>>();
    const stopOne = (name: string): Promise<void> => {
      let stop = stops.get(name);
      if (!stop) {
        stop = (async () => {
          await Promise.all(dependentsOf(this.edges, name).map(stopOne));
          await this.runners.get(name)!.stop();
        })();
        stops.set(name, stop);
      }
      return stop;
    };
    await Promise.all([...this.runners.keys()].map(stopOne));
    this.options.log.info('all services stopped');
  }

  private waitFor(dep: Dependency, signal: AbortSignal): Promise<boolean> {
    const runner = this.runners.get(dep.service)!;
    const met = () =>
      dep.condition === 'service_started'
        ? STARTED.includes(runner.currentState)
        : runner.currentState === 'ready';
    return new Promise((resolve) => {
      const check = () => {
        if (!signal.aborted && !met()) return;
        runner.off('change', check);
        signal.removeEventListener('abort', check);
        resolve(!signal.aborted);
      };
      runner.on('change', check);
      signal.addEventListener('abort', check);
      check();
    });
  }
}
