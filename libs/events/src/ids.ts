import { createHash, randomBytes, randomUUID } from 'node:crypto';

/**
 * A UUIDv7 (RFC 9562): 48-bit millisecond timestamp, then random bits. Time-ordered, so event ids
 * sort roughly by creation and index well.
 */
export function uuidv7(now: number = Date.now()): string {
  // randomUUID draws from a cached entropy pool (randomBytes per call costs ~20 µs); its variant
  // bits are already RFC 9562's, so only the timestamp and the version nibble change.
  const random = randomUUID();
  const time = now.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`;
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
