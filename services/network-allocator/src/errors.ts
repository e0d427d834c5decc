import { NetworkErrorCode } from '@lxr/events';

export { NetworkErrorCode };

/** A failure of the network-allocator, with its stable code (docs/ERRORS.md). */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
  constructor(
    readonly code: NetworkErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
