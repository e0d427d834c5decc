import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { RemoteError } from '@lxr/bus';
import { WrongExpectedVersionError } from '@lxr/event-store';
import {
  type DetachedExecReply,
  type ExecRequest,
  executorSubject,
  type IdeEvent,
  idePath,
  ideStream,
} from '@lxr/events';
import { CODE_SERVER, codeServerArgs, WORKSPACE } from './domain/code-server.js';
import { relaunchDelayMs } from './domain/container-view.js';
import { IdeError, IdeErrorCode } from './errors.js';
import type { IdeLauncherDeps } from './ide-launcher.js';
import { hasDirectory, prepareIdeDir } from './node/ide-dir.js';
import { probeCodeServer } from './node/probe.js';
import { alive, identify, type ProcessIdentity } from './node/process-watch.js';
import { killStaleCodeServers } from './node/stale.js';

/** A launch that ran at least this long counts as healthy: the relaunch backoff starts over. */
const HEALTHY_MS = 60_000;

/** What a supervisor needs to know of its container. */
export interface SupervisedContainer {
  readonly containerId: string;
  readonly name: string;
  readonly rootfsPath: string;
  /** Mount destinations of the container (volumes): `/workspace` there means the workspace volume. */
  readonly mountDestinations: readonly string[];
  /** The container's init on the node: its PID namespace is the container's. */
  readonly initPid: number;
}

/** A code-server a previous launcher started, found in the log (`IdeReady`) on start-up. */
export interface Adoptable {
  readonly pid: number;
  readonly socketPath: string;
  readonly attempt: number;
}

/**
 * Keeps code-server running in one running container: launches it through the executor's detached
 * exec, waits until it answers on its socket (`IdeReady`, or `IdeFailed` with a reason), watches its
 * process and launches it again with backoff when it dies, until {@link stop}.
 */
export class IdeSupervisor {
  readonly #deps: IdeLauncherDeps;
  readonly #container: SupervisedContainer;
  readonly #abort = new AbortController();
  #version = 0;
  #attempt = 0;
  #process: ProcessIdentity | undefined;
  #lastType: IdeEvent['type'] | undefined;
  readonly done: Promise<void>;

  constructor(deps: IdeLauncherDeps, container: SupervisedContainer, adopt?: Adoptable) {
    this.#deps = deps;
    this.#container = container;
    this.done = this.#run(adopt).catch((error: unknown) => {
      if (!this.#abort.signal.aborted) {
        deps.logger.error({ err: error, containerId: container.containerId }, 'IDE supervisor failed');
      }
    });
  }

  get containerId(): string {
    return this.#container.containerId;
  }

  /**
   * Stops supervising. `removed` and `container-stopped` record `IdeExited`; `shutdown` (the
   * launcher stops) records nothing and leaves code-server running for the next launcher to adopt.
   */
  async stop(reason: 'removed' | 'container-stopped' | 'shutdown'): Promise<void> {
    this.#abort.abort();
    await this.done;
    if (reason === 'shutdown') return;
    if (reason === 'removed' && this.#process && (await alive(this.#process))) {
      process.kill(this.#process.pid, 'SIGKILL');
    }
    if (this.#attempt > 0 && this.#lastType !== 'IdeExited') {
      await this.#append({
        type: 'IdeExited',
        data: { ...this.#ids(), reason, attempt: this.#attempt },
      }).catch(() => undefined);
    }
  }

  #ids() {
    return { containerId: this.#container.containerId, node: this.#deps.node };
  }

  async #run(adopt: Adoptable | undefined): Promise<void> {
    const events = await this.#deps.store.readStream(ideStream(this.#container.containerId));
    this.#version = events.length;
    this.#lastType = events.at(-1)?.type as IdeEvent['type'] | undefined;
    this.#attempt = events.filter((e) => e.type === 'IdeStarting').length;
    const signal = this.#abort.signal;
    let failures = 0;
    if (adopt) {
      const found = await identify(adopt.pid);
      if (found && (await probeCodeServer(adopt.socketPath))) {
        this.#process = found;
        this.#deps.logger.info(
          { containerId: this.containerId, pid: adopt.pid },
          'adopted a running code-server',
        );
        await this.#watch(found);
        if (signal.aborted) return;
        await this.#append({
          type: 'IdeExited',
          data: { ...this.#ids(), reason: 'died', attempt: this.#attempt },
        });
      }
    }
    while (!signal.aborted) {
      const started = Date.now();
      const outcome = await this.#launchOnce();
      if (signal.aborted || outcome === 'final') return;
      failures = Date.now() - started >= HEALTHY_MS ? 1 : failures + 1;
      await sleep(relaunchDelayMs(failures), undefined, { signal }).catch(() => undefined);
    }
  }

  /**
   * One launch: returns when code-server failed to come up or, after `IdeReady`, died; `final` when
   * launching again cannot help (the container has no tools bundle: its mounts are fixed for good).
   */
  async #launchOnce(): Promise<'again' | 'final'> {
    const { containerId, name, rootfsPath } = this.#container;
    const signal = this.#abort.signal;
    this.#attempt += 1;
    const attempt = this.#attempt;
    await this.#append({ type: 'IdeStarting', data: { ...this.#ids(), attempt } });
    const launchedAt = Date.now();
    let reply: DetachedExecReply;
    let socketPath: string;
    try {
      const stale = await killStaleCodeServers(this.#container.initPid);
      if (stale.length > 0) {
        this.#deps.logger.warn({ containerId, pids: stale }, 'killed code-servers a previous launcher left');
      }
      socketPath = await prepareIdeDir(rootfsPath);
      const hasWorkspace =
        this.#container.mountDestinations.includes(WORKSPACE) || (await hasDirectory(rootfsPath, WORKSPACE));
      const request: ExecRequest = {
        session: `ide-${randomBytes(8).toString('hex')}`,
        containerId,
        args: codeServerArgs({ name, hasWorkspace }),
        tty: false,
        interactive: false,
        detach: true,
      };
      reply = await this.#deps.bus.request<DetachedExecReply>(
        executorSubject(this.#deps.node, 'exec'),
        request,
        15_000,
      );
    } catch (error) {
      const failure = launchFailure(error);
      await this.#failed(failure, attempt);
      return failure.code === IdeErrorCode.ToolsMissing ? 'final' : 'again';
    }
    const found = await identify(reply.pid);
    if (found) this.#process = found;
    const deadline = launchedAt + this.#deps.readyTimeoutMs;
    for (;;) {
      if (signal.aborted) return 'again';
      if (await probeCodeServer(socketPath)) break;
      if (!found || !(await alive(found))) {
        const output = await tail(reply.logPath);
        await this.#failed(
          new IdeError(IdeErrorCode.ExitedEarly, `code-server exited before it answered: ${output}`),
          attempt,
        );
        return 'again';
      }
      if (Date.now() > deadline) {
        process.kill(found.pid, 'SIGKILL');
        await this.#failed(
          new IdeError(
            IdeErrorCode.Timeout,
            `code-server did not answer on ${socketPath} within ${this.#deps.readyTimeoutMs} ms: ${await tail(reply.logPath)}`,
          ),
          attempt,
        );
        return 'again';
      }
      await sleep(50, undefined, { signal }).catch(() => undefined);
    }
    await this.#append({
      type: 'IdeReady',
      data: {
        ...this.#ids(),
        url: idePath(name),
        socketPath,
        pid: reply.pid,
        attempt,
        startMs: Date.now() - launchedAt,
        readyAt: new Date().toISOString(),
      },
    });
    this.#deps.logger.info(
      { containerId, pid: reply.pid, attempt, ms: Date.now() - launchedAt },
      'IDE ready',
    );
    await this.#watch(found!);
    if (signal.aborted) return 'again';
    this.#deps.logger.warn({ containerId, pid: reply.pid, attempt }, 'code-server died; launching it again');
    await this.#append({ type: 'IdeExited', data: { ...this.#ids(), reason: 'died', attempt } });
    return 'again';
  }

  /** Resolves once the process is gone or the supervisor stops. */
  async #watch(process: ProcessIdentity): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted && (await alive(process))) {
      await sleep(this.#deps.watchIntervalMs, undefined, { signal }).catch(() => undefined);
    }
  }

  async #failed(error: IdeError, attempt: number): Promise<void> {
    this.#deps.logger.warn({ containerId: this.containerId, code: error.code, attempt }, error.message);
    await this.#append({
      type: 'IdeFailed',
      data: { ...this.#ids(), code: error.code, message: error.message.slice(0, 8192), attempt },
    });
  }

  /** Appends to `ide-<id>`, of which this supervisor is the only writer; re-reads once on a conflict. */
  async #append(event: IdeEvent): Promise<void> {
    const stream = ideStream(this.#container.containerId);
    const newEvent = { ...event, correlationId: this.#container.containerId } as const;
    try {
      this.#version = (
        await this.#deps.store.append(stream, this.#version || 'no-stream', [newEvent])
      ).streamVersion;
    } catch (error) {
      if (!(error instanceof WrongExpectedVersionError)) throw error;
      const version = await this.#deps.store.streamVersion(stream);
      this.#version = (
        await this.#deps.store.append(stream, version || 'no-stream', [newEvent])
      ).streamVersion;
    }
    this.#lastType = event.type;
  }
}

/** The reason code of a launch that did not even start. */
function launchFailure(error: unknown): IdeError {
  if (error instanceof IdeError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (
    error instanceof RemoteError &&
    /code-server.*(no such file|not found|ENOENT)|ENOENT.*code-server/is.test(message)
  ) {
    return new IdeError(
      IdeErrorCode.ToolsMissing,
      `${CODE_SERVER} is not in the container (is the tools bundle built? run infra/setup.sh): ${message}`,
    );
  }
  return new IdeError(IdeErrorCode.LaunchFailed, `cannot start code-server: ${message}`, { cause: error });
}

/** The last lines of code-server's output, for a failure's message. */
async function tail(logPath: string): Promise<string> {
  const text = await readFile(logPath, 'utf8').catch(() => '');
  return text.trim().split('\n').slice(-8).join('\n') || '(no output)';
}
