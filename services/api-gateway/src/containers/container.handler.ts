import type { AppendRequest, EventStore } from '@lxr/event-store';
import { WrongExpectedVersionError } from '@lxr/event-store';
import {
  type ContainerEvent,
  type ContainerNameEvent,
  containerIdForIdempotencyKey,
  containerNameStream,
  containerStream,
  type NewEvent,
  type RecordedEvent,
  volumeMountProblem,
} from '@lxr/events';
import {
  type ContainerDecidedEvent,
  type ContainerSpec,
  type ContainerState,
  decide,
  evolve,
  evolveName,
  initialContainerState,
  initialNameState,
  isNameEvent,
  type NameState,
} from '../domain/container.decider.js';
import { developmentDefaults, withIdeWorkspace } from '../domain/ide-workspace.js';
import { requestDigest } from '../domain/request-digest.js';
import { ErrorCode, GatewayError } from '../errors.js';
import type { CreateContainerBody } from '../http/schemas.js';
import { listNodesOrExplain, type NodeDirectory } from '../nodes/node-directory.js';

export interface ContainerHandlerDeps {
  readonly store: EventStore;
  readonly nodes: NodeDirectory;
  readonly newContainerId: () => string;
  readonly newName: () => string;
  /** Called with what was appended, e.g. to count it. */
  readonly onAppended?: (events: readonly RecordedEvent[]) => void;
  /** Attempts when another writer moved a stream between our read and our append; default 5. */
  readonly maxAttempts?: number;
}

/** Who asked: the request id becomes the events' causation id. */
export interface RequestContext {
  readonly requestId: string;
  readonly idempotencyKey?: string | undefined;
  /** W3C trace context of the request's span, recorded on the events. */
  readonly traceparent?: string | undefined;
  readonly tracestate?: string | undefined;
}

export interface CreateOutcome {
  /** True when an earlier request with the same Idempotency-Key had already created it. */
  readonly replayed: boolean;
  /** The recorded `ContainerRequested`: the container as asked for; its timestamp is the creation time. */
  readonly recorded: RecordedEvent;
}

const CONTAINER_TYPES = new Set<string>(['ContainerRequested', 'ContainerRemoved']);
const NAME_TYPES = new Set<string>(['ContainerNameReserved', 'ContainerNameReleased']);
/** How many generated names to try before giving up (there are ~15,000). */
const GENERATED_NAME_ATTEMPTS = 10;

/**
 * Folds a stream with `evolve`, from `initial`; events of other types than `types` are someone
 * else's facts about the same thing and are passed by.
 */
async function load<S, E>(
  store: EventStore,
  stream: string,
  types: ReadonlySet<string>,
  evolve: (state: S, event: E) => S,
  initial: S,
): Promise<{ state: S; version: number; events: readonly RecordedEvent[] }> {
  const events = await store.readStream(stream);
  let state = initial;
  for (const event of events) if (types.has(event.type)) state = evolve(state, event as unknown as E);
  return { state, version: events.at(-1)?.metadata.streamVersion ?? 0, events };
}

const loadContainer = (store: EventStore, containerId: string) =>
  load<ContainerState, ContainerEvent>(
    store,
    containerStream(containerId),
    CONTAINER_TYPES,
    evolve,
    initialContainerState,
  );

const loadName = (store: EventStore, name: string) =>
  load<NameState, ContainerNameEvent>(
    store,
    containerNameStream(name),
    NAME_TYPES,
    evolveName,
    initialNameState,
  );

/** The `ContainerRequested` among `events`; the caller knows there is one. */
const requested = (events: readonly RecordedEvent[]): RecordedEvent =>
  events.findLast((e) => e.type === 'ContainerRequested')!;

/** The request with defaults applied; what an idempotent retry must repeat exactly. */
function normalise(body: CreateContainerBody) {
  return {
    name: body.name ?? null,
    image: body.image,
    command: body.command ?? null,
    env: body.env ?? [],
    labels: body.labels ?? {},
    ide: body.ide ?? true,
    resources: body.resources ?? {},
    node: body.node ?? null,
    ...runOptions(body),
  };
}

/** The create's optional run options (ports, user, tty, restart policy, …), only those given. */
function runOptions(body: CreateContainerBody): Partial<ContainerSpec> {
  const keys = [
    'entrypoint',
    'ports',
    'volumes',
    'ip',
    'user',
    'workingDir',
    'hostname',
    'tty',
    'openStdin',
    'autoRemove',
    'restartPolicy',
  ] as const satisfies readonly (keyof CreateContainerBody & keyof ContainerSpec)[];
  return Object.fromEntries(keys.filter((k) => body[k] !== undefined).map((k) => [k, body[k]]));
}

/**
 * Records container intents: loads the streams, decides, appends with the expected versions,
 * and retries only when another writer got there first.
 */
export class ContainerHandler {
  readonly #deps: ContainerHandlerDeps;
  constructor(deps: ContainerHandlerDeps) {
    this.#deps = deps;
  }

  async create(body: CreateContainerBody, context: RequestContext): Promise<CreateOutcome> {
    const { store } = this.#deps;
    // As docker checks -v at create: a container that could never get its volumes is not recorded.
    const problem = volumeMountProblem(body.volumes ?? []);
    if (problem) {
      const { index, message } = problem;
      throw new GatewayError(ErrorCode.InvalidRequest, message, {
        errors: [{ pointer: `/volumes/${index}`, field: `volumes.${index}`, in: 'body', message }],
      });
    }
    const normalised = normalise(body);
    const key = context.idempotencyKey;
    const containerId = key === undefined ? this.#deps.newContainerId() : containerIdForIdempotencyKey(key);
    const digest = key === undefined ? undefined : requestDigest(normalised);
    let nodes: Awaited<ReturnType<NodeDirectory['list']>> | undefined;
    let generatedNames = 0;
    return this.#retrying(async () => {
      const container = await loadContainer(store, containerId);
      for (;;) {
        const name = body.name ?? this.#deps.newName();
        const nameStream = await loadName(store, name);
        if (container.state.status === 'absent') nodes ??= await listNodesOrExplain(this.#deps.nodes);
        const options = runOptions(body);
        // The IDE's work outlives the container: /workspace is a named volume unless a -v says otherwise.
        const volumes = withIdeWorkspace(name, normalised.ide, options.volumes);
        const spec: ContainerSpec = {
          name,
          image: normalised.image,
          ...(body.command === undefined ? {} : { command: body.command }),
          env: normalised.env,
          labels: normalised.labels,
          ide: normalised.ide,
          resources: normalised.resources,
          ...options,
          ...developmentDefaults(normalised.ide, options),
          ...(volumes ? { volumes: [...volumes] } : {}),
        };
        let events: ContainerDecidedEvent[];
        try {
          events = decide(
            {
              type: 'CreateContainer',
              containerId,
              spec,
              requestedNode: body.node,
              nodes: nodes ?? [],
              requestDigest: digest,
            },
            { container: container.state, name: nameStream.state },
          );
        } catch (error) {
          const retryName =
            error instanceof GatewayError &&
            error.code === ErrorCode.ContainerNameTaken &&
            body.name === undefined &&
            ++generatedNames < GENERATED_NAME_ATTEMPTS;
          if (retryName) continue;
          throw error;
        }
        if (events.length === 0) {
          // A replay: the container was created by an earlier request with this Idempotency-Key.
          return { replayed: true, recorded: requested(container.events) };
        }
        const results = await this.#append(context, containerId, events, {
          container: container.version,
          name: nameStream.version,
        });
        return { replayed: false, recorded: requested(results) };
      }
    });
  }

  /**
   * Removes a container by full id (with `volumes`, its anonymous volumes too); returns its name.
   * 404 when it does not exist (any more).
   */
  async remove(
    containerId: string,
    context: RequestContext,
    options: { readonly volumes?: boolean } = {},
  ): Promise<{ id: string; name: string }> {
    const { store } = this.#deps;
    return this.#retrying(async () => {
      const container = await loadContainer(store, containerId);
      const name = container.state.status === 'absent' ? undefined : container.state.request.name;
      const nameStream =
        name === undefined ? { state: initialNameState, version: 0 } : await loadName(store, name);
      const events = decide(
        { type: 'RemoveContainer', containerId, ...(options.volumes ? { volumes: true } : {}) },
        { container: container.state, name: nameStream.state },
      );
      await this.#append(context, containerId, events, {
        container: container.version,
        name: nameStream.version,
      });
      return { id: containerId, name: name! };
    });
  }

  /**
   * Appends the decided events in one transaction, each to its stream (the container's, or the
   * name's for name events), streams in the order their first event was decided.
   */
  async #append(
    context: RequestContext,
    containerId: string,
    events: readonly ContainerDecidedEvent[],
    versions: { readonly container: number; readonly name: number },
  ): Promise<RecordedEvent[]> {
    const requests = new Map<string, AppendRequest & { events: NewEvent[] }>();
    for (const event of events) {
      const stream = isNameEvent(event) ? containerNameStream(event.data.name) : containerStream(containerId);
      let request = requests.get(stream);
      if (!request) {
        const expectedVersion = isNameEvent(event) ? versions.name : versions.container;
        request = { stream, expectedVersion, events: [] };
        requests.set(stream, request);
      }
      request.events.push({
        type: event.type,
        data: event.data,
        correlationId: containerId,
        causationId: context.requestId,
        ...(context.traceparent === undefined ? {} : { traceparent: context.traceparent }),
        ...(context.tracestate === undefined ? {} : { tracestate: context.tracestate }),
      });
    }
    const results = await this.#deps.store.appendMany([...requests.values()]);
    const recorded = results.flatMap((r) => r.events);
    this.#deps.onAppended?.(recorded);
    return recorded;
  }

  async #retrying<T>(attempt: () => Promise<T>): Promise<T> {
    const max = this.#deps.maxAttempts ?? 5;
    for (let i = 1; ; i++) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        if (i >= max) {
          throw new GatewayError(
            ErrorCode.ConcurrentModification,
            `the container changed under this request ${max} times in a row; retry the request`,
            {},
            { cause: error },
          );
        }
      }
    }
  }
}
