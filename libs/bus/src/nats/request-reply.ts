import { type Tracer, withReplySpan, withRequestSpan } from '@lxr/telemetry';
import { ErrorCode, type Msg, type NatsConnection, NatsError, type Subscription as NatsSub } from 'nats';
import type { Subscription } from '../bus.js';
import { BusError, BusErrorCode, codeOf, messageOf, RemoteError } from '../errors.js';
import type { BusLogger } from '../logger.js';
import { carrierFromHeaders, headersFromCarrier } from './headers.js';

/**
 * The JSON body of every reply: `{ ok: true, result }` or
 * `{ ok: false, error: { code, message } }`. Documented so non-TypeScript clients can answer too.
 */
export type ReplyEnvelope =
  | { readonly ok: true; readonly result?: unknown }
  | { readonly ok: false; readonly error: { readonly code: string; readonly message: string } };

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const encode = (value: unknown) => encoder.encode(JSON.stringify(value ?? null));

function isEnvelope(value: unknown): value is ReplyEnvelope {
  if (typeof value !== 'object' || value === null) return false;
  const { ok, error } = value as { ok?: unknown; error?: { code?: unknown; message?: unknown } };
  if (ok === true) return true;
  return ok === false && typeof error?.code === 'string' && typeof error.message === 'string';
}

/** Sends a JSON request and unwraps the reply envelope; see `EventBus.request`. */
export function request<T>(
  nc: NatsConnection,
  subject: string,
  payload: unknown,
  timeoutMs: number,
  options: { tracer: Tracer; clientId: string },
): Promise<T> {
  return withRequestSpan(
    subject,
    async (carrier) => {
      let reply: Msg;
      try {
        reply = await nc.request(subject, encode(payload), {
          timeout: timeoutMs,
          headers: headersFromCarrier(carrier),
        });
      } catch (error) {
        if (error instanceof NatsError && error.code === ErrorCode.NoResponders) {
          throw new BusError(BusErrorCode.NoResponders, `nothing answers requests on ${subject}`, {
            cause: error,
          });
        }
        if (error instanceof NatsError && error.code === ErrorCode.Timeout) {
          throw new BusError(BusErrorCode.RequestTimeout, `no reply on ${subject} within ${timeoutMs} ms`, {
            cause: error,
          });
        }
        throw new BusError(BusErrorCode.RequestFailed, `request on ${subject} failed: ${messageOf(error)}`, {
          cause: error,
        });
      }
      let body: unknown;
      try {
        body = JSON.parse(decoder.decode(reply.data));
      } catch (error) {
        throw new BusError(BusErrorCode.InvalidReply, `the reply on ${subject} is not JSON`, {
          cause: error,
        });
      }
      if (!isEnvelope(body)) {
        throw new BusError(BusErrorCode.InvalidReply, `the reply on ${subject} is not an lxr reply envelope`);
      }
      if (!body.ok) throw new RemoteError(subject, body.error.code, body.error.message);
      return body.result as T;
    },
    { tracer: options.tracer, clientId: options.clientId },
  );
}

/** A responder on a core NATS subject (queue group), answering with {@link ReplyEnvelope}s. */
export class Responder implements Subscription {
  private readonly sub: NatsSub;
  private readonly inFlight = new Set<Promise<void>>();
  private draining: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly subject: string,
    private readonly handler: (payload: unknown) => Promise<unknown>,
    private readonly options: {
      readonly queue: string;
      readonly tracer: Tracer;
      readonly clientId: string;
      readonly logger: BusLogger;
      readonly onDrained: () => void;
    },
  ) {
    this.sub = nc.subscribe(subject, {
      queue: options.queue,
      callback: (error, msg) => {
        if (error) {
          options.logger.error({ err: error, subject }, 'responder subscription failed');
          return;
        }
        const done: Promise<void> = this.answer(msg).finally(() => this.inFlight.delete(done));
        this.inFlight.add(done);
      },
    });
  }

  drain(): Promise<void> {
    this.draining ??= (async () => {
      if (!this.nc.isClosed()) await this.sub.drain().catch(() => {});
      await Promise.allSettled([...this.inFlight]);
      this.options.onDrained();
    })();
    return this.draining;
  }

  private async answer(msg: Msg): Promise<void> {
    const { subject, options } = this;
    const envelope = await withReplySpan(
      subject,
      carrierFromHeaders(msg.headers),
      async (): Promise<ReplyEnvelope> => {
        let payload: unknown;
        try {
          payload = msg.data.length === 0 ? null : JSON.parse(decoder.decode(msg.data));
        } catch {
          return {
            ok: false,
            error: { code: BusErrorCode.InvalidRequest, message: `the request on ${subject} is not JSON` },
          };
        }
        try {
          return { ok: true, result: await this.handler(payload) };
        } catch (error) {
          options.logger.warn({ err: error, subject }, 'request handler failed');
          return { ok: false, error: { code: codeOf(error), message: messageOf(error) } };
        }
      },
      { tracer: options.tracer, clientId: options.clientId, consumerGroup: options.queue },
    );
    if (!msg.reply) return;
    let body: Uint8Array;
    try {
      body = encode(envelope);
    } catch (error) {
      body = encode({
        ok: false,
        error: { code: BusErrorCode.HandlerFailed, message: `unserializable result: ${messageOf(error)}` },
      });
    }
    try {
      msg.respond(body);
    } catch (error) {
      options.logger.warn({ err: error, subject }, 'could not send a reply');
    }
  }
}
