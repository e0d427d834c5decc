import type { RecordedEvent, SystemDiskUsage, SystemPruneResult } from '@lxr/events';
import { ApiError, ApiUnreachableError, ClientError, ClientErrorCode } from './errors.js';
import { type ExecOptions, type ExecSession, openAttach, openExec } from './exec.js';
import {
  type NodeImage,
  type NodeImagePrune,
  type NodeImageRemoval,
  ndjsonLines,
  type PullImageRequest,
  type PullMessage,
} from './images.js';
import { parseEventStream, textChunks } from './sse.js';
import type {
  Container,
  ContainerDetails,
  ContainerListOptions,
  ContainerStats,
  CreateContainerRequest,
  CreatedContainer,
  Health,
  IdeStatus,
  LogEntry,
  LogsOptions,
  NetworkInspect,
  NodeInfo,
  Problem,
  RemovedContainer,
} from './types.js';
import type { CreateVolumeRequest, NodeVolume, NodeVolumeRemoval } from './volumes.js';

/** How {@link createClient} reaches the API. */
export interface ClientOptions {
  /** Base URL of the API, e.g. `http://127.0.0.1:7420` (see {@link defaultApiUrl}). */
  readonly url: string;
  /** The bearer token (see {@link readToken}); only the health probes work without it. */
  readonly token?: string;
  /** Per-request timeout for everything but the event stream; default 30 s. */
  readonly timeoutMs?: number;
  /** A fetch implementation; the global one by default. */
  readonly fetch?: typeof fetch;
}

/** Options every call takes. */
export interface RequestOptions {
  readonly signal?: AbortSignal;
}

/** Where `events.stream` starts, what it keeps, and when it ends. */
export interface EventStreamOptions {
  /** Start after this log position; 0 = from the beginning. Default: from the beginning. */
  readonly after?: number;
  /** Only events about this container (id, name or id prefix). */
  readonly container?: string;
  /** Only events of these types. */
  readonly types?: readonly string[];
  /** Without `after`: skip what is recorded so far and yield only new events (`docker events`). */
  readonly live?: boolean;
  /** Keep following the log (default), or end once everything so far is read. */
  readonly follow?: boolean;
  /** Ends the iteration (without an error). */
  readonly signal?: AbortSignal;
  /** Wait before reconnecting, until the server says otherwise with `retry:`; default 1 s. */
  readonly reconnectDelayMs?: number;
}

/** The lxr API, one method per route. Every failure is a {@link ClientError}: {@link ApiError} for HTTP errors. */
export interface LxrClient {
  readonly url: string;
  readonly containers: {
    /** `POST /v1/containers`; pass an `idempotencyKey` to make retries safe. */
    create(
      request: CreateContainerRequest,
      options?: RequestOptions & { readonly idempotencyKey?: string },
    ): Promise<CreatedContainer>;
    /** `GET /v1/containers`, newest first. */
    list(options?: ContainerListOptions & RequestOptions): Promise<Container[]>;
    /** `GET /v1/containers/{ref}`: by id, name or unique id prefix, with its events. */
    get(ref: string, options?: RequestOptions): Promise<ContainerDetails>;
    /**
     * `DELETE /v1/containers/{ref}`; `force` removes a running container (docker rm -f), `volumes` its
     * anonymous volumes too (docker rm -v).
     */
    remove(
      ref: string,
      options?: RequestOptions & { readonly force?: boolean; readonly volumes?: boolean },
    ): Promise<RemovedContainer>;
    /** `POST /v1/containers/{ref}/start`: records the intent; the node's executor starts it. */
    start(ref: string, options?: RequestOptions): Promise<RemovedContainer>;
    /** `POST /v1/containers/{ref}/stop`: SIGTERM, SIGKILL after `timeoutSeconds` (default 10). */
    stop(
      ref: string,
      options?: RequestOptions & { readonly timeoutSeconds?: number },
    ): Promise<RemovedContainer>;
    /** `POST /v1/containers/{ref}/restart`. */
    restart(
      ref: string,
      options?: RequestOptions & { readonly timeoutSeconds?: number },
    ): Promise<RemovedContainer>;
    /** `POST /v1/containers/{ref}/kill`: a signal (default SIGKILL) for the main process. */
    kill(ref: string, options?: RequestOptions & { readonly signalName?: string }): Promise<RemovedContainer>;
    /** `GET /v1/containers/{ref}/stats`. */
    stats(ref: string, options?: RequestOptions): Promise<ContainerStats>;
    /** `GET /v1/containers/{ref}/ide`: the IDE's state and its path on the gateway. */
    ide(ref: string, options?: RequestOptions): Promise<IdeStatus>;
    /**
     * `GET /v1/containers/{ref}/logs` as docker's json-file entries; with `follow` until the container exits.
     *
     * @example
     * for await (const { stream, log } of client.containers.logs('web', { follow: true })) process[stream].write(log);
     */
    logs(ref: string, options?: LogsOptions): AsyncGenerator<LogEntry>;
    /** `GET /v1/containers/{ref}/exec` (a WebSocket): a process in the running container. */
    exec(ref: string, options: ExecOptions): Promise<ExecSession>;
    /** `GET /v1/containers/{ref}/attach` (a WebSocket): the main process's stdio or terminal. */
    attach(ref: string, size?: { readonly rows?: number; readonly cols?: number }): Promise<ExecSession>;
  };
  readonly events: {
    /**
     * `GET /v1/events` as an async iterator of recorded events. Reconnects with `Last-Event-ID`
     * when the connection drops, so no event is lost or repeated; HTTP errors are thrown.
     *
     * @example
     * for await (const event of client.events.stream({ container: 'web', signal })) console.log(event.type);
     */
    stream(options?: EventStreamOptions): AsyncGenerator<RecordedEvent>;
  };
  readonly nodes: {
    /** `GET /v1/nodes`. */
    list(options?: RequestOptions): Promise<NodeInfo[]>;
  };
  readonly images: {
    /**
     * `POST /v1/images/pull`: records the pull and yields its progress and outcome as they happen
     * (`ImagePullRequested`, `ImagePullProgress`…, then `ImagePulled` or `ImagePullFailed`).
     *
     * @example
     * for await (const m of client.images.pull({ reference: 'busybox' })) if (m.type === 'ImagePullFailed') throw new Error(m.data.message);
     */
    pull(request: PullImageRequest, options?: RequestOptions): AsyncGenerator<PullMessage>;
    /** `GET /v1/images`: the images of every alive node, or of `node`. */
    list(options?: RequestOptions & { readonly node?: string }): Promise<NodeImage[]>;
    /** `DELETE /v1/images/{ref}` (lxr rmi): by reference or id; `force` removes an image containers use. */
    remove(
      ref: string,
      options?: RequestOptions & { readonly node?: string; readonly force?: boolean },
    ): Promise<NodeImageRemoval[]>;
    /** `POST /v1/images/prune`: dangling images and every blob no image uses. */
    prune(options?: RequestOptions & { readonly node?: string }): Promise<NodeImagePrune[]>;
  };
  readonly networks: {
    /** `GET /v1/networks`: the address pool, each node's subnet and its allocations. */
    inspect(options?: RequestOptions): Promise<NetworkInspect>;
  };
  readonly volumes: {
    /** `POST /v1/volumes` (lxr volume create): an existing volume of the name is returned as it is. */
    create(request?: CreateVolumeRequest, options?: RequestOptions): Promise<NodeVolume>;
    /** `GET /v1/volumes`: the volumes of every alive node, or of `node`. */
    list(options?: RequestOptions & { readonly node?: string }): Promise<NodeVolume[]>;
    /** `GET /v1/volumes/{name}`: the volume, with its size, on each node that has it. */
    inspect(name: string, options?: RequestOptions & { readonly node?: string }): Promise<NodeVolume[]>;
    /**
     * `DELETE /v1/volumes/{name}` (lxr volume rm): refused while a container uses it, even with
     * `force`, which only makes a missing volume no error.
     */
    remove(
      name: string,
      options?: RequestOptions & { readonly node?: string; readonly force?: boolean },
    ): Promise<NodeVolumeRemoval[]>;
    /** `POST /v1/volumes/prune`: unused anonymous volumes; every unused one with `all`. */
    prune(
      options?: RequestOptions & { readonly node?: string; readonly all?: boolean },
    ): Promise<NodeVolumeRemoval[]>;
  };
  readonly system: {
    /** `GET /v1/system/df` (lxr system df): images, containers, volumes and the layer cache. */
    df(options?: RequestOptions & { readonly node?: string }): Promise<SystemDiskUsage>;
    /**
     * `POST /v1/system/prune` (lxr system prune): stopped containers, dangling (with `all`: unused)
     * images, unused layers, and with `volumes` unused volumes. Waits up to 5 minutes.
     */
    prune(
      options?: RequestOptions & {
        readonly node?: string;
        readonly all?: boolean;
        readonly volumes?: boolean;
      },
    ): Promise<SystemPruneResult>;
  };
  /** `GET /readyz`: resolves with the checks whether or not the API is ready. */
  health(options?: RequestOptions): Promise<Health & { readonly ready: boolean }>;
}

/**
 * A typed client for the lxr HTTP API, on the global `fetch`.
 *
 * @example
 * const client = createClient({ url: defaultApiUrl(), token: await readToken() });
 * const { id } = await client.containers.create({ name: 'goCon', image: 'golang' });
 */
export function createClient(options: ClientOptions): LxrClient {
  const base = options.url.replace(/\/+$/, '');
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const auth: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};

  async function send(
    method: string,
    path: string,
    init: {
      body?: unknown;
      headers?: Record<string, string>;
      signal?: AbortSignal | undefined;
      stream?: boolean;
      /** This request's own timeout, for the slow ones (a system prune). */
      timeoutMs?: number;
    } = {},
  ): Promise<Response> {
    const limit = init.timeoutMs ?? timeoutMs;
    const signals = [init.signal, init.stream ? undefined : AbortSignal.timeout(limit)].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    let response: Response;
    try {
      response = await doFetch(base + path, {
        method,
        headers: {
          accept: init.stream ? 'text/event-stream' : 'application/json',
          ...auth,
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
          ...init.headers,
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
        ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
      });
    } catch (error) {
      if (init.signal?.aborted) throw error;
      if ((error as Error).name === 'TimeoutError') {
        throw new ClientError(
          ClientErrorCode.Unreachable,
          `the lxr API at ${base} did not answer ${method} ${path} within ${limit} ms`,
          { cause: error },
        );
      }
      throw new ApiUnreachableError(base, { cause: error });
    }
    if (!response.ok) throw await apiError(response, method, path);
    return response;
  }

  async function json<T>(method: string, path: string, init?: Parameters<typeof send>[2]): Promise<T> {
    return body<T>(await send(method, path, init), method, path);
  }

  async function body<T>(response: Response, method: string, path: string): Promise<T> {
    try {
      return (await response.json()) as T;
    } catch (error) {
      throw new ClientError(
        ClientErrorCode.BadResponse,
        `${method} ${path} answered a body that is not JSON`,
        { cause: error },
      );
    }
  }

  async function* stream(opts: EventStreamOptions = {}): AsyncGenerator<RecordedEvent> {
    let lastId = opts.after === undefined ? undefined : String(opts.after);
    let delay = opts.reconnectDelayMs ?? 1_000;
    const { signal } = opts;
    while (!signal?.aborted) {
      const query = new URLSearchParams();
      if (lastId !== undefined) query.set('after', lastId);
      if (opts.container !== undefined) query.set('container', opts.container);
      if (opts.types && opts.types.length > 0) query.set('type', opts.types.join(','));
      if (opts.follow === false) query.set('follow', 'false');
      if (opts.live && lastId === undefined) query.set('live', 'true');
      let response: Response;
      try {
        response = await send('GET', `/v1/events${query.size > 0 ? `?${query}` : ''}`, {
          stream: true,
          signal,
          headers: lastId === undefined ? {} : { 'last-event-id': lastId },
        });
      } catch (error) {
        if (signal?.aborted) return;
        // Reconnect to a server that went away or is restarting; give up on anything else.
        const transient =
          error instanceof ApiUnreachableError ||
          (error instanceof ApiError && [502, 503, 504].includes(error.status));
        if (!transient || opts.follow === false) throw error;
        await sleep(delay, signal);
        continue;
      }
      try {
        for await (const message of parseEventStream(textChunks(response.body!))) {
          if (message.retry !== undefined) delay = message.retry;
          if (message.id !== undefined) lastId = message.id;
          if (message.data === undefined) continue;
          let event: RecordedEvent;
          try {
            event = JSON.parse(message.data) as RecordedEvent;
          } catch (error) {
            throw new ClientError(ClientErrorCode.BadResponse, `event ${message.id ?? '?'} is not JSON`, {
              cause: error,
            });
          }
          yield event;
        }
      } catch (error) {
        if (signal?.aborted) return;
        if (error instanceof ClientError) throw error;
        // The connection broke mid-stream: resume from the last id.
      }
      if (opts.follow === false) return;
      await sleep(delay, signal);
    }
  }

  /** `path` with the query parameters that are set (`false` counts as unset). */
  const withQuery = (path: string, params: Record<string, string | number | boolean | undefined>): string => {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(params))
      if (value !== undefined && value !== false) query.set(key, String(value));
    return query.size > 0 ? `${path}?${query}` : path;
  };

  /** `/v1/containers/{ref}[/{verb}]`, with the query parameters that are set. */
  const containerPath = (
    ref: string,
    verb?: string,
    params: Record<string, string | number | boolean | undefined> = {},
  ): string => withQuery(`/v1/containers/${encodeURIComponent(ref)}${verb ? `/${verb}` : ''}`, params);

  return {
    url: base,
    containers: {
      async create(request, { idempotencyKey, signal } = {}) {
        const response = await send('POST', '/v1/containers', {
          body: request,
          signal,
          headers: idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey },
        });
        const container = await body<Container>(response, 'POST', '/v1/containers');
        return { ...container, replayed: response.status === 200 };
      },
      list({ signal, labels, ...filter } = {}) {
        const query = new URLSearchParams();
        for (const [key, value] of Object.entries(filter))
          if (value !== undefined) query.set(key, String(value));
        for (const label of labels ?? []) query.append('label', label);
        return json('GET', `/v1/containers${query.size > 0 ? `?${query}` : ''}`, { signal });
      },
      get: (ref, { signal } = {}) => json('GET', containerPath(ref), { signal }),
      remove: (ref, { signal, force, volumes } = {}) =>
        json('DELETE', containerPath(ref, undefined, { force, volumes }), { signal }),
      start: (ref, { signal } = {}) => json('POST', containerPath(ref, 'start'), { signal }),
      stop: (ref, { signal, timeoutSeconds } = {}) =>
        json('POST', containerPath(ref, 'stop', { t: timeoutSeconds }), { signal }),
      restart: (ref, { signal, timeoutSeconds } = {}) =>
        json('POST', containerPath(ref, 'restart', { t: timeoutSeconds }), { signal }),
      kill: (ref, { signal, signalName } = {}) =>
        json('POST', containerPath(ref, 'kill', { signal: signalName || undefined }), { signal }),
      stats: (ref, { signal } = {}) => json('GET', containerPath(ref, 'stats'), { signal }),
      ide: (ref, { signal } = {}) => json('GET', containerPath(ref, 'ide'), { signal }),
      async *logs(ref, { signal, follow, tail, since } = {}) {
        const path = containerPath(ref, 'logs', { follow, tail, since });
        const response = await send('GET', path, {
          signal,
          stream: true,
          headers: { accept: 'application/x-ndjson' },
        });
        let pending = '';
        for await (const chunk of textChunks(response.body!)) {
          pending += chunk;
          const lines = pending.split('\n');
          pending = lines.pop() ?? '';
          for (const line of lines) if (line !== '') yield JSON.parse(line) as LogEntry;
        }
      },
      exec: (ref, execOptions) => openExec(base, options.token, ref, execOptions),
      attach: (ref, size) => openAttach(base, options.token, ref, size),
    },
    events: { stream },
    nodes: { list: ({ signal } = {}) => json('GET', '/v1/nodes', { signal }) },
    images: {
      async *pull(request, { signal } = {}) {
        const response = await send('POST', '/v1/images/pull', {
          body: request,
          signal,
          stream: true,
          headers: { accept: 'application/x-ndjson' },
        });
        yield* ndjsonLines<PullMessage>(textChunks(response.body!));
      },
      list: ({ signal, node } = {}) =>
        json('GET', `/v1/images${node ? `?node=${encodeURIComponent(node)}` : ''}`, { signal }),
      remove: (ref, { signal, node, force } = {}) => {
        const query = new URLSearchParams();
        if (node) query.set('node', node);
        if (force) query.set('force', 'true');
        const path = `/v1/images/${encodeURIComponent(ref)}`;
        return json('DELETE', `${path}${query.size > 0 ? `?${query}` : ''}`, { signal });
      },
      prune: ({ signal, node } = {}) =>
        json('POST', `/v1/images/prune${node ? `?node=${encodeURIComponent(node)}` : ''}`, { signal }),
    },
    networks: { inspect: ({ signal } = {}) => json('GET', '/v1/networks', { signal }) },
    volumes: {
      create: (request = {}, { signal } = {}) => json('POST', '/v1/volumes', { body: request, signal }),
      list: ({ signal, node } = {}) => json('GET', withQuery('/v1/volumes', { node }), { signal }),
      inspect: (name, { signal, node } = {}) =>
        json('GET', withQuery(`/v1/volumes/${encodeURIComponent(name)}`, { node }), { signal }),
      remove: (name, { signal, node, force } = {}) =>
        json('DELETE', withQuery(`/v1/volumes/${encodeURIComponent(name)}`, { node, force }), { signal }),
      prune: ({ signal, node, all } = {}) =>
        json('POST', withQuery('/v1/volumes/prune', { node, all }), { signal }),
    },
    system: {
      df: ({ signal, node } = {}) => json('GET', withQuery('/v1/system/df', { node }), { signal }),
      prune: ({ signal, node, all, volumes } = {}) =>
        json('POST', withQuery('/v1/system/prune', { node }), {
          body: { ...(all ? { all } : {}), ...(volumes ? { volumes } : {}) },
          signal,
          timeoutMs: 300_000,
        }),
    },
    async health({ signal } = {}) {
      try {
        const health = await json<Health>('GET', '/readyz', { signal });
        return { ...health, ready: true };
      } catch (error) {
        if (error instanceof ApiError && error.status === 503) {
          return { ...((error.cause as Health | undefined) ?? { status: 'not ready' }), ready: false };
        }
        throw error;
      }
    },
  };
}

/** Reads an error response as problem+json, or makes a problem up from the status. */
async function apiError(response: Response, method: string, path: string): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const p = body as Partial<Problem> | undefined;
  if (p && typeof p.detail === 'string' && typeof p.code === 'string') {
    return new ApiError({ ...p, status: response.status } as Problem);
  }
  // Not a problem (e.g. /readyz's 503 with its checks): keep the body as the cause.
  return new ApiError(
    {
      type: 'about:blank',
      title: response.statusText || `HTTP ${response.status}`,
      status: response.status,
      detail: `${method} ${path} failed with HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
      code: `HTTP_${response.status}`,
    },
    { cause: body },
  );
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
