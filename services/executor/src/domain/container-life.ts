import type {
  ContainerExited,
  ContainerRequested,
  ContainerStarted,
  ContainerStopRequested,
  LifecycleEvent,
  RestartPolicy,
} from '@lxr/events';

/** The container events the executor folds: the request, the removal and the lifecycle. */
export type LifeEvent =
  | LifecycleEvent
  | { type: 'ContainerRequested'; data: ContainerRequested['data'] }
  | {
      type: 'ContainerRemoved';
      data: { containerId: string; name: string };
    };

/**
 * A container's life as its `container-<id>` stream tells it: what was asked for, what the
 * executor last reported, and what the user wants next. Pure data; {@link evolveLife} builds it.
 */
export interface Life {
  readonly spec: ContainerRequested['data'] | undefined;
  readonly removed: boolean;
  /** Number of `ContainerStarted` so far: the attempt the next start is `attempt + 1`. */
  readonly attempt: number;
  /** A `ContainerStarted` with no `ContainerExited`/`ContainerFailed` after it. */
  readonly running: boolean;
  readonly started: ContainerStarted['data'] | undefined;
  readonly exited: ContainerExited['data'] | undefined;
  /** The last `ContainerFailed` ended the wish to run until the user asks again. */
  readonly failed: boolean;
  /** The user wants it running (created, started, restarted) rather than stopped. */
  readonly wantRunning: boolean;
  /** A start is owed: first run, `lxr start`, `lxr restart`, or the restart policy after an exit. */
  readonly startOwed: boolean;
  /** `lxr stop`/`lxr restart` arrived while running: stop it with this timeout. */
  readonly stopOwed: ContainerStopRequested['data'] | undefined;
  /** Restarts made by the restart policy since the user last asked for a start. */
  readonly policyRestarts: number;
  /** Stream version of the last event folded. */
  readonly version: number;
}

export const initialLife: Life = {
  spec: undefined,
  removed: false,
  attempt: 0,
  running: false,
  started: undefined,
  exited: undefined,
  failed: false,
  wantRunning: false,
  startOwed: false,
  stopOwed: undefined,
  policyRestarts: 0,
  version: 0,
};

/** Whether docker's restart policy restarts a container that exited with `code`. */
export function policyRestarts(
  policy: RestartPolicy | undefined,
  code: number,
  restartsSoFar: number,
): boolean {
  switch (policy?.name ?? 'no') {
    case 'no':
      return false;
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return (
        code !== 0 && (policy?.maximumRetryCount === undefined || restartsSoFar < policy.maximumRetryCount)
      );
    default:
      return false;
  }
}

export function evolveLife(life: Life, event: LifeEvent, version = life.version + 1): Life {
  const next = { ...life, version };
  switch (event.type) {
    case 'ContainerRequested':
      return { ...next, spec: event.data, wantRunning: true, startOwed: true };
    case 'ContainerRemoved':
      return { ...next, removed: true, wantRunning: false, startOwed: false };
    case 'ContainerStarted':
      return {
        ...next,
        attempt: event.data.attempt,
        running: true,
        started: event.data,
        failed: false,
        startOwed: false,
      };
    case 'ContainerExited': {
      if (event.data.attempt !== life.attempt) return next;
      const restart =
        life.wantRunning &&
        policyRestarts(life.spec?.restartPolicy, event.data.code, life.policyRestarts) &&
        !life.stopOwed;
      // A `lxr restart` in progress wants the start whatever the policy says.
      const owed = life.startOwed || restart;
      return {
        ...next,
        running: false,
        exited: event.data,
        stopOwed: undefined,
        startOwed: owed,
        policyRestarts: restart && !life.startOwed ? life.policyRestarts + 1 : life.policyRestarts,
      };
    }
    case 'ContainerFailed':
      return { ...next, running: false, failed: true, startOwed: false, stopOwed: undefined };
    case 'ContainerStartRequested':
      return life.running
        ? next
        : { ...next, wantRunning: true, startOwed: true, failed: false, policyRestarts: 0 };
    case 'ContainerStopRequested':
      return {
        ...next,
        wantRunning: false,
        startOwed: false,
        stopOwed: life.running ? event.data : undefined,
      };
    case 'ContainerRestartRequested':
      return {
        ...next,
        wantRunning: true,
        startOwed: true,
        failed: false,
        policyRestarts: 0,
        stopOwed: life.running ? event.data : undefined,
      };
    case 'ContainerKillRequested':
      return next;
    default: {
      const _never: never = event;
      return _never;
    }
  }
}

/** What the node shows of the container's current attempt. */
export type LocalState =
  | { readonly status: 'absent' }
  | { readonly status: 'running'; readonly attempt: number; readonly pid: number }
  | {
      readonly status: 'exited';
      readonly attempt: number;
      readonly code: number;
      readonly signal: string | null;
      readonly oomKilled: boolean;
      readonly finishedAt: string;
    };

/** One step toward what the log asks for; the executor repeats {@link nextAction} until `none`. */
export type Action =
  | { readonly type: 'none' }
  /** The container's leftovers go: processes, runtime state, cgroup, bundle, monitor state. */
  | { readonly type: 'cleanup' }
  /** An exit the log has not heard of yet. */
  | { readonly type: 'record-exit'; readonly exit: Extract<LocalState, { status: 'exited' }> }
  /** The log says running but the node has nothing: the monitor and container vanished. */
  | { readonly type: 'record-lost' }
  /** The container runs but the executor stopped before recording it: record it now. */
  | { readonly type: 'record-start'; readonly attempt: number; readonly pid: number }
  /** Runtime state of an ended attempt: delete it before the next start or for good. */
  | { readonly type: 'reap' }
  | { readonly type: 'stop'; readonly timeoutSeconds: number }
  | { readonly type: 'start'; readonly attempt: number }
  | { readonly type: 'auto-remove' };

/**
 * Decides the next step for one container from its life in the log and what the node shows.
 * `ready` says whether its root filesystem, network and image config are known.
 */
export function nextAction(life: Life, local: LocalState, ready: boolean): Action {
  if (life.spec === undefined) return { type: 'none' };
  if (life.removed) return local.status === 'absent' ? { type: 'none' } : { type: 'cleanup' };
  if (local.status === 'exited' && local.attempt === life.attempt && life.running) {
    return { type: 'record-exit', exit: local };
  }
  if (local.status === 'absent' && life.running) return { type: 'record-lost' };
  if (local.status === 'running') {
    if (local.attempt === life.attempt + 1 && !life.running) {
      return { type: 'record-start', attempt: local.attempt, pid: local.pid };
    }
    if (local.attempt !== life.attempt) return { type: 'none' };
    if (life.stopOwed) return { type: 'stop', timeoutSeconds: life.stopOwed.timeoutSeconds };
    return { type: 'none' };
  }
  // Not running on the node.
  if (life.startOwed && !life.failed) {
    if (local.status === 'exited') return { type: 'reap' };
    return ready ? { type: 'start', attempt: life.attempt + 1 } : { type: 'none' };
  }
  if (local.status === 'exited') return { type: 'reap' };
  if (life.spec.autoRemove && (life.exited !== undefined || life.failed) && !life.running) {
    return { type: 'auto-remove' };
  }
  return { type: 'none' };
}
