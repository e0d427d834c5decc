import type {
  PortBinding,
  PublishedPort,
  RecordedEvent,
  ResourceLimits,
  RestartPolicy,
  VolumeMount,
} from '@lxr/events';

/** Resource limits, as `docker create --memory/--cpus/--pids-limit`: the `ContainerRequested` event's. */
export type { PortBinding, PublishedPort, ResourceLimits, RestartPolicy, VolumeMount };

/** The body of `POST /v1/containers`. */
export interface CreateContainerRequest {
  /** Unique name (`[a-zA-Z0-9][a-zA-Z0-9_.-]*`); a docker-style one is generated when absent. */
  readonly name?: string;
  /** Image reference, docker grammar: `golang` = `docker.io/library/golang:latest`. */
  readonly image: string;
  /** Replaces the image's Cmd (its Entrypoint stays). */
  readonly command?: readonly string[];
  /** Replaces the image's Entrypoint and drops its Cmd. */
  readonly entrypoint?: readonly string[];
  /** `K=V` strings. */
  readonly env?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  /** Launch code-server in the container; default true. */
  readonly ide?: boolean;
  readonly resources?: ResourceLimits;
  /** Published ports (`-p`). */
  readonly ports?: readonly PortBinding[];
  /** Volumes and bind mounts (`-v`). */
  readonly volumes?: readonly VolumeMount[];
  /** Static address on the container network (`--ip`). */
  readonly ip?: string;
  readonly user?: string;
  /** Absolute path inside the container. */
  readonly workingDir?: string;
  readonly hostname?: string;
  /** Allocate a pseudo-terminal (`-t`). */
  readonly tty?: boolean;
  /** Keep stdin open (`-i`). */
  readonly openStdin?: boolean;
  /** Remove the container once it exits (`--rm`). */
  readonly autoRemove?: boolean;
  readonly restartPolicy?: RestartPolicy;
  /** Node agent to run it on; any live one when absent. */
  readonly node?: string;
}

/** A container as `GET /v1/containers` lists it. */
export interface Container {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  readonly node: string;
  /** `requested`, then whatever later services report (`running`, `exited`, …). */
  readonly state: string;
  readonly command: string[] | null;
  readonly env: string[];
  readonly labels: Record<string, string>;
  readonly ide: boolean;
  readonly resources: ResourceLimits;
  /** ISO 8601. */
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly pid: number | null;
  /** The main process's exit status once it exited; 128 + signal when killed. */
  readonly exitCode: number | null;
  /** Published ports (`-p`); `hostPort` is the real port once the network is ready. */
  readonly ports: PortBinding[];
  readonly ip: string | null;
  readonly netns: string | null;
  /** Log position of the last event that changed it. */
  readonly position: number;
}

/** `POST /v1/containers`' answer: the container, and whether an earlier request had created it. */
export type CreatedContainer = Container & {
  /** True when the Idempotency-Key had been used before with the same request (HTTP 200). */
  readonly replayed: boolean;
};

/** A container with its event history, as `GET /v1/containers/{ref}` answers (`docker inspect`). */
export type ContainerDetails = Container & { readonly events: RecordedEvent[] };

/** A container's resource use (`GET /v1/containers/{ref}/stats`). */
export type { ContainerStats } from '@lxr/events';

/** A container's IDE (`GET /v1/containers/{ref}/ide`, `lxr ide`). */
export interface IdeStatus {
  readonly containerId: string;
  readonly name: string;
  /** `disabled` (no IDE), `stopped` (the container is not running), `starting`, `ready`, `failed`. */
  readonly state: 'disabled' | 'stopped' | 'starting' | 'ready' | 'failed';
  /** The IDE's path on the gateway: `/ide/<name>/`. */
  readonly path: string;
  /** Launches of code-server since the container was created. */
  readonly attempts: number;
  readonly readyAt: string | null;
  /** Milliseconds code-server took to answer at its last start. */
  readonly startMs: number | null;
  /** The last failure (`IdeFailed`), while not ready. */
  readonly error: { readonly code: string; readonly message: string } | null;
}

/** One line of a container's log, as docker's json-file driver writes it. */
export interface LogEntry {
  /** The text, with its newline (a line longer than 16 KiB comes in parts). */
  readonly log: string;
  readonly stream: 'stdout' | 'stderr';
  /** RFC 3339 with nanoseconds. */
  readonly time: string;
}

/** What `GET /v1/containers/{ref}/logs` returns. */
export interface LogsOptions {
  readonly follow?: boolean;
  /** Only the last N lines. */
  readonly tail?: number;
  /** Only lines from this time on (RFC 3339). */
  readonly since?: string;
  readonly signal?: AbortSignal;
}

/** What `DELETE /v1/containers/{ref}` answers: the container that was removed. */
export interface RemovedContainer {
  readonly id: string;
  readonly name: string;
}

/** Filters of `GET /v1/containers`; without `all`, containers in a final state are left out. */
export interface ContainerListOptions {
  /** Include exited and failed containers (`docker ps -a`). */
  readonly all?: boolean;
  /** Substring of the name. */
  readonly name?: string;
  readonly image?: string;
  readonly node?: string;
  readonly state?: string;
  /** `key` or `key=value`; all must match. */
  readonly labels?: readonly string[];
}

/** A node agent as `GET /v1/nodes` reports it, with every service heartbeating from it. */
export interface NodeInfo {
  readonly name: string;
  /** True while the node's executor heartbeats: only then can it be given containers. */
  readonly alive: boolean;
  /** The executor's last heartbeat, ISO 8601; null if it never sent one. */
  readonly lastSeen: string | null;
  /** Every service heartbeating from this node (image-puller, executor, …). */
  readonly services: { readonly name: string; readonly alive: boolean; readonly lastSeen: string | null }[];
}

/** One address of a node's subnet, held by a container. */
export interface NetworkAllocation {
  readonly containerId: string;
  readonly name: string;
  readonly ip: string;
  /** Host ports it publishes, as the node resolved them. */
  readonly ports: readonly PublishedPort[];
}

/** A node's subnet of the pool and the addresses given out in it. */
export interface NodeNetwork {
  readonly node: string;
  readonly subnet: string;
  /** The bridge's address: the containers' default route. */
  readonly gateway: string;
  readonly allocations: readonly NetworkAllocation[];
}

/** The cluster's address pool and its use, as `GET /v1/networks` reports it (`lxr network inspect`). */
export interface NetworkInspect {
  /** The pool nodes lease their subnets from; null before any node leased one. */
  readonly pool: string | null;
  readonly nodes: readonly NodeNetwork[];
}

/** What `/readyz` answers: `ready` or `not ready`, with each dependency's check. */
export interface Health {
  readonly status: string;
  readonly checks?: Record<string, { readonly ok: boolean; readonly error?: string }>;
}

/** RFC 9457 problem details, as the API sends them with `application/problem+json`. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly instance?: string;
  /** Stable error code, e.g. `CONTAINER_NAME_TAKEN`. */
  readonly code: string;
  readonly requestId?: string;
  /** The fields at fault. */
  readonly errors?: readonly {
    readonly pointer: string;
    readonly field: string;
    readonly in?: string;
    readonly message: string;
  }[];
}
