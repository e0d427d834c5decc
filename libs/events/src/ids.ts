import { randomBytes, createHash } from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562): 48-bit millisecond timestamp, then random bits. Time-ordered, so event ids
 * sort roughly by creation and index well.
 */
export function uuidv7(now: number = Date.now()): string {
  const bytes = randomBytes(16);
  bytes.writeUIntBE(now, 0, 6);
  bytes[6] = (bytes[6]! & 0x0f) | 0x70;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A container id as docker makes them: 64 lowercase hex characters. */
export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

/**
 * The container id a request with this idempotency key always gets, so a retried
 * `POST /v1/containers` lands on the same stream and is recognised as a replay.
 */
export function containerIdForIdempotencyKey(key: string): string {
  return createHash('sha256').update(`lxr-idempotency:${key}`).digest('hex');
}

/** The first 12 characters of an id, as `docker ps` shows them. */
export function shortId(id: string): string {
  return id.slice(0, 12);
}
