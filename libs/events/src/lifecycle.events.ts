import { type Static, Type } from '@sinclair/typebox';
import { ContainerId, NodeName } from './fields.js';

// A running container's life, appended to its `container-<id>` stream: the gateway records the
// user's intents (start, stop, kill, restart), the executor on the container's node the facts.

const Timestamp = Type.String({ minLength: 20, maxLength: 40, description: 'RFC 3339, UTC' });
/** A signal by name, as `docker kill --signal`: `SIGTERM`, `TERM`, or its number. */
export const SignalName = Type.String({ pattern: '^(SIG)?[A-Z0-9+-]{1,12}$|^[0-9]{1,2}$', maxLength: 16 });

export const ContainerStartedData = Type.Object(
  {
    containerId: ContainerId,
    node: NodeName,
    /** PID of the container's init (lxr-init) on the node. */
    pid: Type.Integer({ minimum: 1 }),
    netnsPath: Type.String({ pattern: '^/', maxLength: 4096 }),
    /** The cgroup path, relative to the hierarchy root (`/lxr/<id>`). */
    cgroup: Type.String({ pattern: '^/', maxLength: 4096 }),
    startedAt: Timestamp,
    /** Starts since the container was requested, restarts by policy included (1 for the first). */
    attempt: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

export const ContainerExitedData = Type.Object(
  {
    containerId: ContainerId,
    node: NodeName,
    /** The main process's exit status; 128 + signal when a signal killed it, as docker reports. */
    code: Type.Integer({ minimum: 0, maximum: 255 }),
    signal: Type.Union([Type.String({ pattern: '^SIG[A-Z0-9+-]+$', maxLength: 16 }), Type.Null()]),
    oomKilled: Type.Boolean(),
    finishedAt: Timestamp,
    /** The `attempt` of the `ContainerStarted` this exit ends. */
    attempt: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

export const ContainerFailedData = Type.Object(
  {
    containerId: ContainerId,
    node: NodeName,
    /** An `EXECUTOR_*` reason code of docs/ERRORS.md. */
    code: Type.String({ pattern: '^[A-Z][A-Z0-9_]{2,63}$' }),
    message: Type.String({ maxLength: 8192 }),
  },
  { additionalProperties: false },
);

export const ContainerIntentData = Type.Object({ containerId: ContainerId }, { additionalProperties: false });

export const ContainerStopRequestedData = Type.Object(
  {
    containerId: ContainerId,
    /** Seconds between SIGTERM and SIGKILL (`docker stop -t`). */
    timeoutSeconds: Type.Integer({ minimum: 0, maximum: 3600 }),
  },
  { additionalProperties: false },
);

export const ContainerKillRequestedData = Type.Object(
  { containerId: ContainerId, signal: SignalName },
  { additionalProperties: false },
);

export const ContainerRestartRequestedData = ContainerStopRequestedData;

/** The container's init runs (after `RootfsPrepared` and `NetworkReady`, or a restart). */
export type ContainerStarted = { type: 'ContainerStarted'; data: Static<typeof ContainerStartedData> };
/** The container's main process ended; the restart policy decides what follows. */
export type ContainerExited = { type: 'ContainerExited'; data: Static<typeof ContainerExitedData> };
/** The executor could not run the container; nothing of the attempt is left on the node. */
export type ContainerFailed = { type: 'ContainerFailed'; data: Static<typeof ContainerFailedData> };
/** `lxr start`: run a stopped or exited container again. */
export type ContainerStartRequested = {
  type: 'ContainerStartRequested';
  data: Static<typeof ContainerIntentData>;
};
/** `lxr stop`: SIGTERM, then SIGKILL after the timeout; the restart policy no longer applies. */
export type ContainerStopRequested = {
  type: 'ContainerStopRequested';
  data: Static<typeof ContainerStopRequestedData>;
};
/** `lxr kill`: deliver a signal to the main process. */
export type ContainerKillRequested = {
  type: 'ContainerKillRequested';
  data: Static<typeof ContainerKillRequestedData>;
};
/** `lxr restart`: stop (with the timeout), then start. */
export type ContainerRestartRequested = {
  type: 'ContainerRestartRequested';
  data: Static<typeof ContainerRestartRequestedData>;
};

export type LifecycleEvent =
  | ContainerStarted
  | ContainerExited
  | ContainerFailed
  | ContainerStartRequested
  | ContainerStopRequested
  | ContainerKillRequested
  | ContainerRestartRequested;

export const lifecycleEventSchemas = {
  ContainerStarted: { version: 1, schema: ContainerStartedData, context: 'container' },
  ContainerExited: { version: 1, schema: ContainerExitedData, context: 'container' },
  ContainerFailed: { version: 1, schema: ContainerFailedData, context: 'container' },
  ContainerStartRequested: { version: 1, schema: ContainerIntentData, context: 'container' },
  ContainerStopRequested: { version: 1, schema: ContainerStopRequestedData, context: 'container' },
  ContainerKillRequested: { version: 1, schema: ContainerKillRequestedData, context: 'container' },
  ContainerRestartRequested: { version: 1, schema: ContainerRestartRequestedData, context: 'container' },
} as const;

// ---- Talking to a node's executor (core NATS, not events) ----
// Requests go to `lxr.executor.<node>.<verb>` (answered with the bus's reply envelope); the
// session's bytes flow on `lxr.executor.<node>.<verb>.<session>.<in|out>`. Each stream message is
// one frame: byte 0 its type, the rest its payload — exec out: 1 stdout, 2 stderr, 3 exit (JSON);
// exec in: 0 stdin, 1 resize (u16 rows, u16 cols, big-endian), 2 close stdin, 4 signal (u8).
// Logs out: 1 a chunk of json-file lines; 3 the end (JSON `{}`).

/** The requests a node's executor answers. */
export type ExecutorVerb = 'exec' | 'logs' | 'stats' | 'attach';

/** The request subject of one node's executor: `lxr.executor.<node>.<verb>`. */
export const executorSubject = (node: string, verb: ExecutorVerb): string => `lxr.executor.${node}.${verb}`;
/** One session's stream: `lxr.executor.<node>.<verb>.<session>.<direction>`. */
export const executorStreamSubject = (
  node: string,
  verb: 'exec' | 'logs' | 'attach',
  session: string,
  direction: 'in' | 'out',
): string => `lxr.executor.${node}.${verb}.${session}.${direction}`;

/** Frame types on the session subjects. */
export const SessionFrame = {
  Stdin: 0,
  Resize: 1,
  CloseStdin: 2,
  Signal: 4,
  Stdout: 1,
  Stderr: 2,
  Exit: 3,
} as const;

const SessionId = Type.String({ pattern: '^[A-Za-z0-9_-]{8,64}$' });

export const ExecRequest = Type.Object(
  {
    session: SessionId,
    containerId: ContainerId,
    args: Type.Array(Type.String({ maxLength: 65536 }), { minItems: 1, maxItems: 4096 }),
    tty: Type.Boolean(),
    /** Keep stdin open (`-i`); closed at once otherwise. */
    interactive: Type.Boolean(),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
    workingDir: Type.Optional(Type.String({ pattern: '^/', maxLength: 4096 })),
    env: Type.Optional(Type.Array(Type.String({ pattern: '^[^=]+=', maxLength: 65536 }), { maxItems: 4096 })),
    rows: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    cols: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    /**
     * Run in the background, with no session: stdin is /dev/null, stdout and stderr go to `logPath`
     * (a file of the node, under the executor's state), and the reply carries the process's `pid` on
     * the node. It is not the executor's child (the runtime that started it has exited), so an
     * executor restart leaves it running; it ends with the container. `tty` and `interactive` must be
     * false.
     */
    detach: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ExecRequest = Static<typeof ExecRequest>;

/** The executor's reply to a detached exec: the process runs, with this PID on the node. */
export interface DetachedExecReply {
  readonly session: string;
  readonly pid: number;
  /** Where its stdout and stderr go, on the node. */
  readonly logPath: string;
}

export const LogsRequest = Type.Object(
  {
    session: SessionId,
    containerId: ContainerId,
    /** Keep sending new lines until the container exits. */
    follow: Type.Boolean(),
    /** Only the last N lines. */
    tail: Type.Optional(Type.Integer({ minimum: 0 })),
    /** Only lines at or after this time (RFC 3339). */
    since: Type.Optional(Type.String({ maxLength: 40 })),
  },
  { additionalProperties: false },
);
export type LogsRequest = Static<typeof LogsRequest>;

/** Attaches to the main process's stdio or terminal (the monitor's attach socket), from now on. */
export const AttachRequest = Type.Object(
  {
    session: SessionId,
    containerId: ContainerId,
    /** The terminal's size, set on attaching (a resize also makes a shell redraw its prompt). */
    rows: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    cols: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
  },
  { additionalProperties: false },
);
export type AttachRequest = Static<typeof AttachRequest>;

export const StatsRequest = Type.Object({ containerId: ContainerId }, { additionalProperties: false });
export type StatsRequest = Static<typeof StatsRequest>;

/** A container's resource use, as `docker stats` shows it. */
export interface ContainerStats {
  readonly containerId: string;
  readonly pid: number;
  readonly memoryBytes: number;
  readonly memoryLimitBytes: number | null;
  readonly cpuNanoseconds: number;
  readonly pids: number;
  readonly pidsLimit: number | null;
  /** When it was read, RFC 3339. */
  readonly readAt: string;
}
