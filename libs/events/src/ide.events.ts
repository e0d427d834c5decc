import { type Static, Type } from '@sinclair/typebox';
import { AbsolutePath, ContainerId, NodeName } from './fields.js';

// The IDE of a development container (`ide: true`), written by the ide-launcher of the container's
// node to the stream `ide-<id>`: code-server starts inside the container after `ContainerStarted`,
// answers on a unix socket in the container's root filesystem, and the gateway proxies
// `/ide/<name>/` to it.

const Timestamp = Type.String({ minLength: 20, maxLength: 40, description: 'RFC 3339, UTC' });

export const IdeStartingData = Type.Object(
  {
    containerId: ContainerId,
    node: NodeName,
    /** Launches since the container started (1 for the first; restarts after code-server died count on). */
    attempt: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

export const IdeReadyData = Type.Object(
  {
    containerId: ContainerId,
    node: NodeName,
    /** The gateway path the IDE is served on: `/ide/<name>/`. */
    url: Type.String({ pattern: '^/ide/', maxLength: 512 }),
    /** code-server's unix socket as the node sees it (inside the container's root filesystem). */
    socketPath: AbsolutePath,
    /** code-server's process on the node (host PID namespace). */
    pid: Type.Integer({ minimum: 1 }),
    attempt: Type.Integer({ minimum: 1 }),
    /** Milliseconds from the launch to the first answer on the socket. */
    startMs: Type.Integer({ minimum: 0 }),
    readyAt: Timestamp,
  },
  { additionalProperties: false },
);

export const IdeFailedData = Type.Object(
  {
    containerId: ContainerId,
    node: NodeName,
    /** An `IDE_*` reason code of docs/ERRORS.md. */
    code: Type.String({ pattern: '^[A-Z][A-Z0-9_]{2,63}$' }),
    message: Type.String({ maxLength: 8192 }),
    attempt: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

export const IdeExitedData = Type.Object(
  {
    containerId: ContainerId,
    node: NodeName,
    /** Why it is gone: it died (and is restarted), or the container stopped or was removed. */
    reason: Type.Union([Type.Literal('died'), Type.Literal('container-stopped'), Type.Literal('removed')]),
    attempt: Type.Integer({ minimum: 1 }),
  },
  { additionalProperties: false },
);

/** code-server is being launched in the container. */
export type IdeStarting = { type: 'IdeStarting'; data: Static<typeof IdeStartingData> };
/** code-server answers; the IDE is at `url` on the gateway. */
export type IdeReady = { type: 'IdeReady'; data: Static<typeof IdeReadyData> };
/** code-server could not be started or did not answer; a later restart may still succeed. */
export type IdeFailed = { type: 'IdeFailed'; data: Static<typeof IdeFailedData> };
/** code-server is no longer running. */
export type IdeExited = { type: 'IdeExited'; data: Static<typeof IdeExitedData> };

export type IdeEvent = IdeStarting | IdeReady | IdeFailed | IdeExited;

export const ideEventSchemas = {
  IdeStarting: { version: 1, schema: IdeStartingData, context: 'ide' },
  IdeReady: { version: 1, schema: IdeReadyData, context: 'ide' },
  IdeFailed: { version: 1, schema: IdeFailedData, context: 'ide' },
  IdeExited: { version: 1, schema: IdeExitedData, context: 'ide' },
} as const;

/** One container's IDE: `ide-<id>`. */
export const ideStream = (containerId: string): string => `ide-${containerId}`;

/** Where the gateway serves a container's IDE: `/ide/<name>/`. */
export const idePath = (name: string): string => `/ide/${encodeURIComponent(name)}/`;
