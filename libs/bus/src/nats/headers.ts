import { TRACEPARENT, TRACESTATE, type TraceCarrier } from '@lxr/telemetry';
import { headers, type MsgHdrs } from 'nats';

/** Headers lxr puts on a dead letter, besides the original message's trace context. */
export const DlqHeader = {
  /** Why it was dead-lettered: an `EVENT_*` validation code or `BUS_MAX_DELIVERIES_EXCEEDED`. */
  Reason: 'Lxr-Dlq-Reason',
  /** The (last) error's message, on one line. */
  Error: 'Lxr-Dlq-Error',
  /** The (last) error's stable code, or `BUS_HANDLER_FAILED`. */
  ErrorCode: 'Lxr-Dlq-Error-Code',
  /** The subject the message was originally published on. */
  Subject: 'Lxr-Dlq-Subject',
  /** The stream it came from (`LXR_EVENTS`). */
  Stream: 'Lxr-Dlq-Stream',
  /** Its sequence in that stream. */
  StreamSequence: 'Lxr-Dlq-Stream-Sequence',
  /** How many times it was delivered. */
  DeliveryCount: 'Lxr-Dlq-Delivery-Count',
  /** The durable consumer that gave up on it. */
  Consumer: 'Lxr-Dlq-Consumer',
  /** When, ISO 8601 UTC. */
  FailedAt: 'Lxr-Dlq-Failed-At',
} as const;

const MAX_HEADER_VALUE = 1024;

/** A header value: one line (NATS headers cannot hold CR/LF), at most 1 KiB. */
export function headerValue(value: string): string {
  const line = value.replace(/[\r\n]+/g, ' ').trim();
  return line.length > MAX_HEADER_VALUE ? `${line.slice(0, MAX_HEADER_VALUE - 1)}…` : line;
}

/** NATS headers holding a trace-context carrier. */
export function headersFromCarrier(carrier: Readonly<TraceCarrier>): MsgHdrs {
  const h = headers();
  for (const [key, value] of Object.entries(carrier)) h.set(key, headerValue(value));
  return h;
}

/** The trace context (`traceparent`, `tracestate`) found in NATS headers. */
export function carrierFromHeaders(h: MsgHdrs | undefined): TraceCarrier {
  const carrier: TraceCarrier = {};
  if (!h) return carrier;
  for (const key of [TRACEPARENT, TRACESTATE]) {
    const value = h.get(key);
    if (value) carrier[key] = value;
  }
  return carrier;
}
