import { connectBus, type EventBus, messageOf, type NatsBus, redactServerUrl } from '@lxr/bus';
import { startTelemetry, type Tracer } from '@lxr/telemetry';
import type { NatsConnection } from 'nats';
import type pino from 'pino';
import { type CommonConfig, commonConfigSpec } from './common-config.js';
import { type ConfigOf, type ConfigSpec, loadConfig } from './config.js';
import { ConfigError, type ConfigIssue, ServiceError, ServiceKitErrorCode } from './errors.js';
import { type HealthServer, type ReadinessCheck, startHealthServer } from './health.js';
import { startHeartbeat } from './heartbeat.js';
import { createLogger, type Logger } from './logger.js';

/** A shutdown hook; errors are logged and shutdown goes on. */
export type ShutdownHook = () => void | Promise<void>;

/** What a service's `start` gets: its configuration and connections, and ways to hook in. */
export interface ServiceContext<C = unknown> {
  readonly name: string;
  readonly version: string;
  /** The common configuration plus the service's own. */
  readonly config: CommonConfig & C;
  readonly logger: Logger;
  /** The event bus; its subscriptions are drained on shutdown. */
  readonly bus: EventBus;
  /** The NATS connection under the bus, e.g. for KV buckets. */
  readonly nats: NatsConnection;
  readonly tracer: Tracer;
  /** Aborted when shutdown begins: end loops and long waits. */
  readonly signal: AbortSignal;
  /** Adds a check `/readyz` runs (NATS connectivity and "started" are built in). */
  addReadinessCheck(name: string, check: ReadinessCheck): void;
  /**
   * Runs first on shutdown, newest first: stop taking new work (close an HTTP server, stop
   * an outbox relay or a timer). Subscriptions are drained right after.
   */
  onStop(name: string, hook: ShutdownHook): void;
  /**
   * Runs after subscriptions drained, newest first, before the heartbeat is deleted and the
   * bus closed: release what handlers used (a PostgreSQL pool, files).
   */
  onShutdown(name: string, hook: ShutdownHook): void;
}

/** A service, as its `main.ts` describes it to {@link runService}. */
export interface ServiceDefinition<S extends ConfigSpec = Record<never, never>> {
  /** Service name: lowercase words and dashes, e.g. `image-puller`. */
  readonly name: string;
  /** One per node (node agents) rather than one per cluster; recorded in the heartbeat. */
  readonly perNode: boolean;
  /** Default `0.0.0`; pass the package version. */
  readonly version?: string;
  /** The service's own variables, read together with {@link commonConfigSpec}. */
  readonly config?: S;
  /** Starts the service's work; resolve once it runs (a rejection exits non-zero). */
  start(context: ServiceContext<ConfigOf<S>>): void | Promise<void>;
  /** Deadline of graceful shutdown; default 15 s. */
  readonly shutdownTimeoutMs?: number;
  /** Heartbeat pacing; defaults fit production. */
  readonly heartbeat?: { readonly intervalMs?: number; readonly ttlMs?: number };
}

/** Options of {@link startService}, for tests and embedding. */
export interface StartServiceOptions {
  /** Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Where logs go; default stdout. */
  readonly logDestination?: pino.DestinationStream;
}

/** A started service. */
export interface RunningService<C = unknown> {
  readonly context: ServiceContext<C>;
  /** Where `/healthz` and `/readyz` listen, if on. */
  readonly healthPort: number | undefined;
  /**
   * Shuts down gracefully, in reverse order of start: readiness off, `onStop` hooks, drain
   * subscriptions, `onShutdown` hooks, delete the heartbeat, close the bus, close the health
   * server, flush telemetry. Rejects with `SERVICE_SHUTDOWN_TIMEOUT` past the deadline.
   * Idempotent.
   */
  shutdown(reason?: string): Promise<void>;
}

const SERVICE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** The common configuration and the service's own, with the problems of both in one error. */
function loadServiceConfig<S extends ConfigSpec>(
  spec: S | undefined,
  env: NodeJS.ProcessEnv,
): CommonConfig & ConfigOf<S> {
  const issues: ConfigIssue[] = [];
  const load = <T extends ConfigSpec>(s: T): ConfigOf<T> | undefined => {
    try {
      return loadConfig(s, env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      issues.push(...error.issues);
      return undefined;
    }
  };
  const common = load(commonConfigSpec);
  const own = load(spec ?? ({} as S));
  if (!common || !own) throw new ConfigError(issues);
  return { ...common, ...own };
}

interface Step {
  readonly name: string;
  readonly run: () => unknown;
}

/**
 * Starts a service without touching the process (no signal handlers, no exit): loads the
 * configuration, starts telemetry, connects the bus and ensures the streams, starts the health
 * server and the heartbeat, then calls `definition.start`. On failure, whatever started is
 * stopped again and the error is thrown (`ConfigError`, or `SERVICE_START_FAILED` with the cause).
 * {@link runService} is this plus the process wiring.
 */
export async function startService<S extends ConfigSpec = Record<never, never>>(
  definition: ServiceDefinition<S>,
  options: StartServiceOptions = {},
): Promise<RunningService<ConfigOf<S>>> {
  if (!SERVICE_NAME.test(definition.name)) {
    throw new ServiceError(ServiceKitErrorCode.StartFailed, `invalid service name "${definition.name}"`);
  }
  const env = options.env ?? process.env;
  const config = loadServiceConfig(definition.config, env);
  const { name } = definition;
  const version = definition.version ?? '0.0.0';
  const logger = createLogger(name, {
    level: config.logLevel,
    node: config.node,
    ...(options.logDestination ? { destination: options.logDestination } : {}),
  });
  const abort = new AbortController();
  const stopHooks: Step[] = [];
  const shutdownHooks: Step[] = [];
  // Reverse order of start; filled as each part comes up.
  const teardown: Step[] = [];
  let started = false;
  let bus: NatsBus | undefined;
  let health: HealthServer | undefined;

  // Both a failed start and a shutdown stop whatever is up, in this order; a failing step is
  // logged and the next one runs. `current` names the running step for the shutdown deadline.
  let current = 'start';
  const stopEverything = async () => {
    const steps: Step[] = [
      ...stopHooks,
      { name: 'drain subscriptions', run: () => bus?.drainSubscriptions() },
      ...shutdownHooks,
      ...teardown,
    ];
    for (const step of steps) {
      current = step.name;
      try {
        await step.run();
      } catch (error) {
        logger.error({ err: error, step: step.name }, 'shutdown step failed');
      }
    }
  };

  let context: ServiceContext<ConfigOf<S>>;
  try {
    const telemetry = await startTelemetry({ serviceName: name, serviceVersion: version, node: config.node });
    teardown.unshift({ name: 'flush telemetry', run: () => telemetry.shutdown() });

    logger.info({ servers: config.natsServers.map(redactServerUrl), version }, 'starting');
    const natsBus = await connectBus({
      servers: config.natsServers,
      name: `${name}@${config.node}`,
      logger: logger.child({ component: 'bus' }),
      tracer: telemetry.tracer,
    });
    bus = natsBus;
    teardown.unshift({ name: 'close bus', run: () => natsBus.close() });
    await natsBus.ensureStreams();

    const healthServer = await startHealthServer({
      port: config.healthPort,
      host: config.healthHost,
      service: name,
      node: config.node,
    });
    health = healthServer;
    teardown.unshift({ name: 'close health server', run: () => healthServer.close() });
    healthServer.addReadinessCheck('nats', () => natsBus.isConnected() || 'not connected to NATS');
    healthServer.addReadinessCheck('started', () => started || 'starting');

    const heartbeat = await startHeartbeat(natsBus.connection, {
      node: config.node,
      service: name,
      version,
      perNode: definition.perNode,
      ...definition.heartbeat,
      logger: logger.child({ component: 'heartbeat' }),
    });
    teardown.unshift({ name: 'delete heartbeat', run: () => heartbeat.stop() });

    context = {
      name,
      version,
      config,
      logger,
      bus: natsBus,
      nats: natsBus.connection,
      tracer: telemetry.tracer,
      signal: abort.signal,
      addReadinessCheck: (checkName, check) => healthServer.addReadinessCheck(checkName, check),
      onStop: (hookName, hook) => void stopHooks.unshift({ name: `stop: ${hookName}`, run: hook }),
      onShutdown: (hookName, hook) =>
        void shutdownHooks.unshift({ name: `shutdown: ${hookName}`, run: hook }),
    };
    await definition.start(context);
    started = true;
    logger.info({ healthPort: healthServer.port, heartbeat: heartbeat.key }, 'started');
  } catch (error) {
    abort.abort(error);
    await stopEverything();
    if (error instanceof ConfigError) throw error;
    logger.fatal({ err: error }, 'failed to start');
    throw new ServiceError(ServiceKitErrorCode.StartFailed, `${name} failed to start: ${messageOf(error)}`, {
      cause: error,
    });
  }

  const deadlineMs = definition.shutdownTimeoutMs ?? 15_000;
  let stopping: Promise<void> | undefined;
  const shutdown = (reason = 'shutdown requested') => {
    stopping ??= (async () => {
      logger.info({ reason, deadlineMs }, 'shutting down');
      health?.setShuttingDown();
      abort.abort(reason);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new ServiceError(
                ServiceKitErrorCode.ShutdownTimeout,
                `${name} did not shut down within ${deadlineMs} ms (stuck at "${current}")`,
              ),
            ),
          deadlineMs,
        );
        timer.unref();
      });
      try {
        await Promise.race([stopEverything(), deadline]);
      } finally {
        clearTimeout(timer);
      }
      logger.info({ reason }, 'stopped');
    })();
    return stopping;
  };

  return { context, healthPort: health.port, shutdown };
}

/** Exit code of a process whose configuration is invalid (sysexits' EX_CONFIG). */
export const EXIT_CONFIG = 78;

/**
 * The whole life of a service process, for its `src/main.ts`: {@link startService}, then on
 * SIGTERM or SIGINT a graceful shutdown and `exit(0)`. Exit codes: 0 after a graceful shutdown;
 * 78 when the configuration is invalid (every bad variable is logged); 1 when start fails, when
 * shutdown fails or passes its deadline, on a second signal, and on an uncaught exception or
 * unhandled rejection (logged first).
 *
 * @example
 * // services/image-puller/src/main.ts
 * await runService({
 *   name: 'image-puller',
 *   perNode: true,
 *   config: { cacheDir: field.string('LXR_IMAGE_CACHE', { default: '/var/lib/lxr/images' }) },
 *   async start({ bus, config, logger }) {
 *     await bus.subscribe({ durable: `image-puller-${config.node}`, handler: makeHandler(config, logger) });
 *   },
 * });
 */
export async function runService<S extends ConfigSpec = Record<never, never>>(
  definition: ServiceDefinition<S>,
): Promise<void> {
  let logger: Logger = createLogger(definition.name, { level: 'info' });
  const fatal = (message: string) => (error: unknown) => {
    logger.fatal({ err: error }, message);
    process.exit(1);
  };
  process.on('uncaughtException', fatal('uncaught exception'));
  process.on('unhandledRejection', fatal('unhandled promise rejection'));

  let running: RunningService<ConfigOf<S>>;
  try {
    running = await startService(definition);
  } catch (error) {
    if (error instanceof ConfigError) {
      logger.fatal({ err: error, issues: error.issues }, 'invalid configuration');
      process.stderr.write(`${definition.name}: ${error.message}\n`);
      process.exit(EXIT_CONFIG);
    }
    // startService logged the details with the configured logger.
    process.stderr.write(`${definition.name}: ${messageOf(error)}\n`);
    process.exit(1);
  }
  logger = running.context.logger;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal during shutdown; exiting now');
      process.exit(1);
    }
    running.shutdown(signal).then(
      () => process.exit(0),
      (error) => {
        logger.error({ err: error }, 'graceful shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
