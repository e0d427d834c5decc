import { createHash, type Hash } from 'node:crypto';
import { OciError, OciErrorCode } from './errors.js';

/** A content digest, `sha256:<64 hex>` (the only algorithm the store keeps). */
export type Digest = `sha256:${string}`;

const SHA256 = /^sha256:[a-f0-9]{64}$/;
const ANY_DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** True for a well-formed sha256 digest. */
export function isDigest(value: string): value is Digest {
  return SHA256.test(value);
}

/**
 * Checks a digest from a document or a user and narrows it; a well-formed digest of another
 * algorithm (sha512, …) is refused as unsupported rather than as malformed.
 */
export function parseDigest(value: string, what = 'digest'): Digest {
  if (isDigest(value)) return value;
  if (ANY_DIGEST.test(value) && !value.startsWith('sha256:')) {
    throw new OciError(
      OciErrorCode.InvalidDigest,
      `${what} "${value}" uses an unsupported algorithm: only sha256 is supported`,
    );
  }
  throw new OciError(OciErrorCode.InvalidDigest, `${what} "${value.slice(0, 100)}" is not a sha256 digest`);
}

/** The hex part of a digest. */
export function digestHex(digest: Digest): string {
  return digest.slice(7);
}

/** The sha256 digest of bytes. */
export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** A running sha256 with its digest as {@link Digest}. */
export function newSha256(): Hash {
  return createHash('sha256');
}

/** The digest of a finished hash. */
export function hashDigest(hash: Hash): Digest {
  return `sha256:${hash.digest('hex')}`;
}
