import type { Static } from '@sinclair/typebox';
import type { ProblemFieldError } from './http/schemas.js';

/**
 * Every error the gateway answers with, by stable code. The HTTP status, title and description
 * live here and only here; the error handler (`http/problem.ts`) turns a {@link GatewayError}
 * into `application/problem+json` with `type: urn:lxr:problem:<code>`.
 */
export const ErrorCode = {
  // 400
  MalformedJson: 'MALFORMED_JSON',
  InvalidRequest: 'INVALID_REQUEST',
  InvalidCursor: 'INVALID_CURSOR',
  // 401
  Unauthorized: 'UNAUTHORIZED',
  // 403
  CrossSiteRequest: 'CROSS_SITE_REQUEST',
  // 404
  RouteNotFound: 'ROUTE_NOT_FOUND',
  ContainerNotFound: 'CONTAINER_NOT_FOUND',
  ImageNotFound: 'IMAGE_NOT_FOUND',
  VolumeNotFound: 'VOLUME_NOT_FOUND',
  // 405
  MethodNotAllowed: 'METHOD_NOT_ALLOWED',
  // 409
  ContainerNameTaken: 'CONTAINER_NAME_TAKEN',
  ContainerAmbiguous: 'CONTAINER_AMBIGUOUS',
  IdempotencyKeyUsed: 'IDEMPOTENCY_KEY_USED',
  ConcurrentModification: 'CONCURRENT_MODIFICATION',
  ImageInUse: 'IMAGE_IN_USE',
  VolumeInUse: 'VOLUME_IN_USE',
  ContainerNotRunning: 'CONTAINER_NOT_RUNNING',
  ContainerRunning: 'CONTAINER_RUNNING',
  IdeDisabled: 'IDE_DISABLED',
  // 413
  BodyTooLarge: 'BODY_TOO_LARGE',
  // 415
  UnsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  // 422
  IdempotencyKeyMismatch: 'IDEMPOTENCY_KEY_MISMATCH',
  UnknownNode: 'UNKNOWN_NODE',
  // 503
  NoNodeAvailable: 'NO_NODE_AVAILABLE',
  NodeNotAlive: 'NODE_NOT_ALIVE',
  NodeUnreachable: 'NODE_UNREACHABLE',
  ImagePullerUnavailable: 'IMAGE_PULLER_UNAVAILABLE',
  RootfsBuilderUnavailable: 'ROOTFS_BUILDER_UNAVAILABLE',
  NotReady: 'NOT_READY',
  IdeNotReady: 'IDE_NOT_READY',
  // 502
  IdeUnreachable: 'IDE_UNREACHABLE',
  // 500
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** How one error code looks on the wire, and when it happens. */
export interface ErrorCodeInfo {
  readonly status: number;
  readonly title: string;
  /** When the code is used and what the caller should do: the documentation of the code. */
  readonly description: string;
}

export const errorCodes: Readonly<Record<ErrorCode, ErrorCodeInfo>> = {
  MALFORMED_JSON: {
    status: 400,
    title: 'Malformed JSON',
    description: 'The body is not valid JSON (or is empty) although Content-Type says JSON. Fix the body.',
  },
  INVALID_REQUEST: {
    status: 400,
    title: 'Invalid request',
    description:
      'A field is missing, unknown or of the wrong type or format; `errors` names each field at fault ' +
      'with a JSON pointer into the body, query or path.',
  },
  INVALID_CURSOR: {
    status: 400,
    title: 'Invalid event cursor',
    description:
      '`after` or `Last-Event-ID` is not the position of an event in the log. Resume from 0 or a seen id.',
  },
  UNAUTHORIZED: {
    status: 401,
    title: 'Unauthorized',
    description:
      'No bearer token, or not the one in `$LXR_HOME/api-token`. Send `Authorization: Bearer <token>`.',
  },
  CROSS_SITE_REQUEST: {
    status: 403,
    title: 'Cross-site request refused',
    description:
      'A request that changes state or opens a WebSocket was authenticated by the session cookie but did not ' +
      "come from a page of the gateway's own origin (`Origin`/`Sec-Fetch-Site`). Browsers: use the console; " +
      'programs: send `Authorization: Bearer <token>`.',
  },
  ROUTE_NOT_FOUND: {
    status: 404,
    title: 'Not found',
    description: 'No route has this path. See /openapi.json for the routes.',
  },
  IMAGE_NOT_FOUND: {
    status: 404,
    title: 'Image not found',
    description: 'No node has an image by that reference or id. `lxr images` lists them.',
  },
  VOLUME_NOT_FOUND: {
    status: 404,
    title: 'Volume not found',
    description: 'No node has a volume of that name. `lxr volume ls` lists them.',
  },
  CONTAINER_NOT_FOUND: {
    status: 404,
    title: 'No such container',
    description:
      'No container has this id, name or id prefix (or it was removed). `GET /v1/containers?all=true` lists them.',
  },
  METHOD_NOT_ALLOWED: {
    status: 405,
    title: 'Method not allowed',
    description: 'The path exists but not with this method.',
  },
  CONTAINER_NAME_TAKEN: {
    status: 409,
    title: 'Container name in use',
    description: 'Another container holds the name. Remove it or choose another name.',
  },
  CONTAINER_AMBIGUOUS: {
    status: 409,
    title: 'Ambiguous container reference',
    description: 'The id prefix matches several containers. Give more characters of the id.',
  },
  IDEMPOTENCY_KEY_USED: {
    status: 409,
    title: 'Idempotency key already used',
    description: 'The container created with this Idempotency-Key has been removed. Use a new key.',
  },
  IMAGE_IN_USE: {
    status: 409,
    title: 'Image in use',
    description:
      'A container on the node uses the image. Remove the container first, or remove the image anyway with `force=true` (`lxr rmi -f`).',
  },
  VOLUME_IN_USE: {
    status: 409,
    title: 'Volume in use',
    description:
      'A container on the node uses the volume; as docker, even `force` does not remove it. Remove the container first (`lxr rm`).',
  },
  CONCURRENT_MODIFICATION: {
    status: 409,
    title: 'Concurrent modification',
    description: 'The container changed under the request too many times in a row. Retry the request.',
  },
  CONTAINER_NOT_RUNNING: {
    status: 409,
    title: 'Container not running',
    description:
      'exec, kill, stats and attach need a running container. `lxr start` it first; `lxr logs` shows why it stopped.',
  },
  CONTAINER_RUNNING: {
    status: 409,
    title: 'Container running',
    description:
      'A running container cannot be removed. Stop it first (`lxr stop`), or remove it anyway with `force=true` (`lxr rm -f`).',
  },
  BODY_TOO_LARGE: {
    status: 413,
    title: 'Body too large',
    description: "The request body exceeds the gateway's limit (1 MiB by default). Send a smaller body.",
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: 'Unsupported media type',
    description: 'Bodies must be `application/json`.',
  },
  IDEMPOTENCY_KEY_MISMATCH: {
    status: 422,
    title: 'Idempotency key reused with another request',
    description:
      'A request with this Idempotency-Key but a different body was already made. Use a new key for a new request.',
  },
  UNKNOWN_NODE: {
    status: 422,
    title: 'Unknown node',
    description: 'No node agent of this name has ever reported. `GET /v1/nodes` lists the nodes.',
  },
  NO_NODE_AVAILABLE: {
    status: 503,
    title: 'No node agent is running',
    description:
      'No executor heartbeats in `lxr_nodes`, so nothing could run the container. Start one with `lxr up`.',
  },
  NODE_NOT_ALIVE: {
    status: 503,
    title: 'Node agent not running',
    description: 'The requested node has stopped heartbeating. Start its node agent or choose another node.',
  },
  NODE_UNREACHABLE: {
    status: 503,
    title: 'Node agent unreachable',
    description:
      "The executor on the container's node did not answer over NATS. Check the node with `lxr nodes`; retry once it is back.",
  },
  IMAGE_PULLER_UNAVAILABLE: {
    status: 503,
    title: 'Image-puller unavailable',
    description:
      "The node's image-puller did not answer over NATS. Check the node with `lxr status` / `lxr nodes`; retry once it is back.",
  },
  ROOTFS_BUILDER_UNAVAILABLE: {
    status: 503,
    title: 'Rootfs-builder unavailable',
    description:
      "The node's rootfs-builder, which keeps its volumes, did not answer over NATS. Check the node with `lxr status` / `lxr nodes`; retry once it is back.",
  },
  NOT_READY: {
    status: 503,
    title: 'Not ready',
    description: 'A dependency (PostgreSQL or NATS) is unreachable; `/readyz` says which.',
  },
  IDE_DISABLED: {
    status: 409,
    title: 'No IDE in this container',
    description:
      'The container was created without the IDE (`--no-ide`, or `lxr run`). Create a development ' +
      'container with `lxr create` to get one.',
  },
  IDE_NOT_READY: {
    status: 503,
    title: 'IDE not ready',
    description:
      'The container is not running, or code-server is still starting (or restarting after it died). ' +
      'Retry after `Retry-After` seconds; the detail carries the last `IdeFailed` reason, if any.',
  },
  IDE_UNREACHABLE: {
    status: 502,
    title: 'IDE unreachable',
    description:
      "code-server's socket in the container did not answer (it died just now, or the container is on " +
      'another node than this gateway). The ide-launcher restarts it; retry shortly.',
  },
  INTERNAL: {
    status: 500,
    title: 'Internal error',
    description: 'An unexpected error; the gateway log has the details under the request id.',
  },
};

/** One field at fault in a request, as the problem's `errors` lists it. */
export type FieldError = Static<typeof ProblemFieldError>;

/** An error with a stable code that the boundary turns into problem+json. */
export class GatewayError extends Error {
  override readonly name = 'GatewayError';
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    /** What failed, on which object, and what to do; becomes the problem's `detail`. */
    message: string,
    readonly extra: {
      readonly errors?: readonly FieldError[];
      readonly headers?: Record<string, string>;
    } = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.status = errorCodes[code].status;
  }
}
