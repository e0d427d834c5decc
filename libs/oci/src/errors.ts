/**
 * Stable codes of the errors `@lxr/oci` throws; documented in docs/ERRORS.md. An image-puller turns
 * each into the reason code of an `ImagePullFailed` event ({@link OciError.reason}).
 */
export const OciErrorCode = {
  InvalidReference: 'OCI_INVALID_REFERENCE',
  InvalidPlatform: 'OCI_INVALID_PLATFORM',
  InvalidDigest: 'OCI_INVALID_DIGEST',
  NotFound: 'OCI_NOT_FOUND',
  Unauthorized: 'OCI_UNAUTHORIZED',
  Denied: 'OCI_DENIED',
  TooLarge: 'OCI_TOO_LARGE',
  DigestMismatch: 'OCI_DIGEST_MISMATCH',
  SizeMismatch: 'OCI_SIZE_MISMATCH',
  DiffIdMismatch: 'OCI_DIFF_ID_MISMATCH',
  UnsupportedMediaType: 'OCI_UNSUPPORTED_MEDIA_TYPE',
  InvalidManifest: 'OCI_INVALID_MANIFEST',
  NoMatchingPlatform: 'OCI_NO_MATCHING_PLATFORM',
  Network: 'OCI_NETWORK',
  RegistryError: 'OCI_REGISTRY_ERROR',
  Decompress: 'OCI_DECOMPRESS_FAILED',
  CredentialHelper: 'OCI_CREDENTIAL_HELPER_FAILED',
  ImageNotFound: 'OCI_IMAGE_NOT_KNOWN',
  ImageInUse: 'OCI_IMAGE_IN_USE',
  Aborted: 'OCI_ABORTED',
  Store: 'OCI_STORE_FAILED',
} as const;
/** One of the {@link OciErrorCode} strings. */
export type OciErrorCode = (typeof OciErrorCode)[keyof typeof OciErrorCode];

/** Reason codes of a failed pull, as `ImagePullFailed.reason` carries them. */
export type PullFailureReason =
  | 'invalid-reference'
  | 'invalid-platform'
  | 'not-found'
  | 'unauthorized'
  | 'too-large'
  | 'digest-mismatch'
  | 'unsupported'
  | 'no-matching-platform'
  | 'network'
  | 'registry-error'
  | 'invalid-image'
  | 'aborted'
  | 'store';

const REASONS: Record<OciErrorCode, PullFailureReason> = {
  OCI_INVALID_REFERENCE: 'invalid-reference',
  OCI_INVALID_PLATFORM: 'invalid-platform',
  OCI_INVALID_DIGEST: 'invalid-reference',
  OCI_NOT_FOUND: 'not-found',
  OCI_UNAUTHORIZED: 'unauthorized',
  OCI_DENIED: 'unauthorized',
  OCI_TOO_LARGE: 'too-large',
  OCI_DIGEST_MISMATCH: 'digest-mismatch',
  OCI_SIZE_MISMATCH: 'digest-mismatch',
  OCI_DIFF_ID_MISMATCH: 'digest-mismatch',
  OCI_UNSUPPORTED_MEDIA_TYPE: 'unsupported',
  OCI_INVALID_MANIFEST: 'invalid-image',
  OCI_NO_MATCHING_PLATFORM: 'no-matching-platform',
  OCI_NETWORK: 'network',
  OCI_REGISTRY_ERROR: 'registry-error',
  OCI_DECOMPRESS_FAILED: 'invalid-image',
  OCI_CREDENTIAL_HELPER_FAILED: 'unauthorized',
  OCI_IMAGE_NOT_KNOWN: 'not-found',
  OCI_IMAGE_IN_USE: 'store',
  OCI_ABORTED: 'aborted',
  OCI_STORE_FAILED: 'store',
};

/** An error of `@lxr/oci`: a stable {@link OciErrorCode}, a message naming the object at fault. */
export class OciError extends Error {
  override readonly name = 'OciError';
  constructor(
    readonly code: OciErrorCode,
    message: string,
    options?: ErrorOptions & {
      /** Worth retrying (network trouble, 429, 5xx) as opposed to a definite answer. */
      readonly retryable?: boolean;
    },
  ) {
    super(message, options);
    this.retryable = options?.retryable ?? false;
  }
  readonly retryable: boolean;

  /** The reason code of an `ImagePullFailed` event for this error. */
  get reason(): PullFailureReason {
    return REASONS[this.code];
  }
}

/** The reason code for any error a pull ended with (unknown errors count as `store`). */
export function pullFailureReason(error: unknown): PullFailureReason {
  return error instanceof OciError ? error.reason : 'store';
}

/** The message of any thrown value. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
