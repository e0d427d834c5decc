import { eventSubject, isKnownEventType, type RecordedEvent } from '@lxr/events';
import { noopTracer, type Tracer, withProducerSpan } from '@lxr/telemetry';
import {
  connect,
  DebugEvents,
  Events,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
} from 'nats';
import type { EventBus, PublishOptions, ReplyOptions, SubscribeOptions, Subscription } from '../bus.js';
import { BusError, BusErrorCode, messageOf } from '../errors.js';
import { type BusLogger, silentLogger } from '../logger.js';
import { subscriptionSettings } from './consumer-config.js';
import { EventSubscription } from './event-subscription.js';
import { headersFromCarrier } from './headers.js';
import { Responder, request } from './request-reply.js';
import { natsServerOptions } from './server-urls.js';
import { type EnsureStreamsOptions, ensureStreams } from './streams.js';

/** Options of {@link connectBus}. */
export interface ConnectBusOptions {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`. */
  readonly servers: string | readonly string[];
  /** Connection name shown by nats-server, e.g. `image-puller@node-1`. */
  readonly name: string;
  readonly logger?: BusLogger;
  /** Tracer for producer/consumer spans; default a no-op. */
  readonly tracer?: Tracer;
  /** Upper bound of the reconnect delay, which grows while the server stays away; default 2 s. */
  readonly maxReconnectDelayMs?: number;
  /**
   * Keep trying when no server answers at first (default true: services may start before
   * nats-server). With false, `connectBus` fails with `BUS_CONNECT_FAILED` at once.
   */
  readonly waitOnFirstConnect?: boolean;
  /** Default timeout of `request`; default 5 s. */
  readonly requestTimeoutMs?: number;
  /** How long `publish` waits for JetStream's ack; default 5 s. */
  readonly publishTimeoutMs?: number;
}

/** The NATS implementation of {@link EventBus}, with what service-kit and admin code also need. */
export interface NatsBus extends EventBus {
  /** The underlying connection, e.g. for KV buckets (heartbeats). */
  readonly connection: NatsConnection;
  readonly jetstream: JetStreamClient;
  /** Creates or updates the `LXR_EVENTS` and `LXR_DLQ` streams. */
  ensureStreams(options?: EnsureStreamsOptions): Promise<void>;
  /** True while connected to a server (false while reconnecting or once closed). */
  isConnected(): boolean;
  /**
   * Drains every subscription and responder but keeps the connection open, so shutdown can
   * still publish or release resources before {@link EventBus.close}.
   */
  drainSubscriptions(): Promise<void>;
}

/**
 * Connects to NATS and returns the event bus. The connection reconnects forever, with a delay
 * that grows up to `maxReconnectDelayMs`; consumers resume by themselves once the server is back.
 *
 * @example
 * const bus = await connectBus({ servers: config.natsServers, name: 'executor@node-1', logger, tracer });
 * await bus.ensureStreams();
 */
export async function connectBus(options: ConnectBusOptions): Promise<NatsBus> {
  const logger = options.logger ?? silentLogger;
  const maxDelay = options.maxReconnectDelayMs ?? 2_000;
  let disconnectedAt = Date.now();
  const { servers, ...credentials } = natsServerOptions(options.servers);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      ...credentials,
      name: options.name,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: options.waitOnFirstConnect ?? true,
      // An async stack capture on every publish and request costs more than the rest of the call.
      noAsyncTraces: true,
      // Grows with the time the server has been away: quick after a blip, calm during an outage.
      reconnectDelayHandler: () =>
        Math.min(maxDelay, 100 + (Date.now() - disconnectedAt) / 4) + Math.floor(Math.random() * 100),
      pingInterval: 20_000,
      maxPingOut: 3,
    });
  } catch (error) {
    throw new BusError(
      BusErrorCode.ConnectFailed,
      `could not connect to NATS at ${servers.join(', ')}: ${messageOf(error)}`,
      { cause: error },
    );
  }
  const bus = new NatsEventBus(nc, options, logger);
  void (async () => {
    for await (const status of nc.status()) {
      switch (status.type) {
        case Events.Disconnect:
          disconnectedAt = Date.now();
          bus.connected = false;
          logger.warn({ server: status.data }, 'disconnected from NATS; reconnecting');
          break;
        case Events.Reconnect:
          bus.connected = true;
          logger.info({ server: status.data }, 'reconnected to NATS');
          break;
        case Events.Error:
          logger.error({ err: status.data }, 'NATS connection error');
          break;
        case DebugEvents.Reconnecting:
          logger.debug({ server: status.data }, 'reconnecting to NATS');
          break;
        default:
          break;
      }
    }
  })().catch(() => {});
  void nc.closed().then((error) => {
    bus.connected = false;
    if (error) logger.error({ err: error }, 'NATS connection closed with an error');
  });
  logger.info({ server: nc.getServer(), name: options.name }, 'connected to NATS');
  return bus;
}

const encoder = new TextEncoder();

class NatsEventBus implements NatsBus {
  readonly jetstream: JetStreamClient;
  /** Set by the status watcher of {@link connectBus}. */
  connected = true;
  private jsm: JetStreamManager | undefined;
  private readonly subscriptions = new Set<Subscription>();
  private closing: Promise<void> | undefined;
  private readonly tracer: Tracer;

  constructor(
    readonly connection: NatsConnection,
    private readonly options: ConnectBusOptions,
    private readonly logger: BusLogger,
  ) {
    this.tracer = options.tracer ?? noopTracer;
    this.jetstream = connection.jetstream({ timeout: options.publishTimeoutMs ?? 5_000 });
  }

  isConnected(): boolean {
    return this.connected && !this.connection.isClosed();
  }

  async ensureStreams(options?: EnsureStreamsOptions): Promise<void> {
    this.assertOpen();
    await ensureStreams(await this.manager(), options);
  }

  async publish(event: RecordedEvent, options: PublishOptions = {}): Promise<void> {
    this.assertOpen();
    if (!isKnownEventType(event.type)) {
      throw new BusError(
        BusErrorCode.UnknownEventType,
        `cannot publish event ${event.metadata.eventId}: unknown event type "${event.type}"`,
      );
    }
    const subject = eventSubject(event.type);
    const data = encoder.encode(JSON.stringify(event));
    await withProducerSpan(
      event,
      subject,
      async (carrier) => {
        try {
          await this.jetstream.publish(subject, data, {
            msgID: event.metadata.eventId,
            headers: headersFromCarrier(carrier),
            ...(options.expectLastEventId ? { expect: { lastMsgID: options.expectLastEventId } } : {}),
          });
        } catch (error) {
          throw new BusError(
            BusErrorCode.PublishFailed,
            `publishing ${event.type} ${event.metadata.eventId} to ${subject} failed: ${messageOf(error)}`,
            { cause: error },
          );
        }
      },
      { tracer: this.tracer, clientId: this.options.name, bodySize: data.length },
    );
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    this.assertOpen();
    const settings = subscriptionSettings(options);
    const subscription: EventSubscription = await EventSubscription.start(
      {
        js: this.jetstream,
        jsm: await this.manager(),
        logger: this.logger,
        tracer: this.tracer,
        clientId: this.options.name,
        ensureStreams: () => this.ensureStreams(),
      },
      settings,
      () => this.subscriptions.delete(subscription),
    );
    this.subscriptions.add(subscription);
    return subscription;
  }

  request<T>(subject: string, payload: unknown, timeoutMs?: number): Promise<T> {
    this.assertOpen();
    return request<T>(
      this.connection,
      subject,
      payload,
      timeoutMs ?? this.options.requestTimeoutMs ?? 5_000,
      {
        tracer: this.tracer,
        clientId: this.options.name,
      },
    );
  }

  reply(
    subject: string,
    handler: (payload: unknown) => Promise<unknown>,
    options: ReplyOptions = {},
  ): Subscription {
    this.assertOpen();
    const responder: Responder = new Responder(this.connection, subject, handler, {
      queue: options.queue ?? 'lxr',
      tracer: this.tracer,
      clientId: this.options.name,
      logger: this.logger,
      onDrained: () => this.subscriptions.delete(responder),
    });
    this.subscriptions.add(responder);
    return responder;
  }

  async drainSubscriptions(): Promise<void> {
    await Promise.allSettled([...this.subscriptions].map((s) => s.drain()));
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.drainSubscriptions();
      if (!this.connection.isClosed()) {
        // drain() flushes the acks and replies of the handlers that just finished.
        await this.connection.drain().catch((error) => {
          this.logger.warn({ err: error }, 'NATS drain failed; closing');
          return this.connection.close();
        });
      }
      this.logger.info({}, 'bus closed');
    })();
    return this.closing;
  }

  private assertOpen(): void {
    if (this.closing || this.connection.isClosed()) {
      throw new BusError(BusErrorCode.Closed, 'the event bus is closed');
    }
  }

  private async manager(): Promise<JetStreamManager> {
    this.jsm ??= await this.connection.jetstreamManager();
    return this.jsm;
  }
}
