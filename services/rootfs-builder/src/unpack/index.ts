/**
 * The layer unpacker: one layer's uncompressed tar stream into a fresh directory in overlayfs form,
 * checked against its diffID, with nothing ever written outside that directory. See docs/ROOTFS.md
 * "Unpacking".
 *
 * @example
 * const stream = await blobs.openLayer(layer.digest, layer.compression);
 * const { entries } = await unpackLayer(stream, '/var/lib/lxr/layers/tmp/abc', { expectedDiffId: layer.diffId });
 */
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { addAbortSignal, type Readable } from 'node:stream';
import { UnpackError, UnpackErrorCode } from './errors.js';
import { DEFAULT_NODES_HELPER } from './node-ops.js';
import { printable } from './paths.js';
import type { ToWorker } from './unpack-worker.js';
import { acquireWorker, releaseWorker, WorkerReplies } from './worker-pool.js';

export { UnpackError, UnpackErrorCode } from './errors.js';
export { DEFAULT_NODES_HELPER } from './node-ops.js';

/** Caps that stop decompression bombs and million-entry layers before they cost the node. */
export interface UnpackLimits {
  /** Bytes of uncompressed tar (and so of file content). */
  maxBytes: number;
  /** Entries of the tar, and names the unpacker keeps in memory (directories it creates count). */
  maxEntries: number;
  /** Bytes of an entry's path or link target. */
  maxPathLength: number;
}

/** Generous enough for any real image: 64 GiB, 2 million entries, PATH_MAX. */
export const DEFAULT_UNPACK_LIMITS: Readonly<UnpackLimits> = Object.freeze({
  maxBytes: 64 * 1024 ** 3,
  maxEntries: 2_000_000,
  maxPathLength: 4096,
});

export interface UnpackOptions {
  /** sha256 of the UNCOMPRESSED tar as the image config records it; checked while unpacking. */
  expectedDiffId: string;
  limits?: Partial<UnpackLimits>;
  signal?: AbortSignal;
  /** native/'s lxr-unpack-nodes (devices, fifos, whiteouts, xattrs); default: the repository's build. */
  nodesHelper?: string;
}

export interface UnpackResult {
  /** `sha256:<hex>` of the tar stream: `expectedDiffId`. */
  diffId: string;
  /** Tar entries unpacked (PAX and long-name headers not counted). */
  entries: number;
  /** Bytes of file content written. */
  bytes: number;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

/**
 * Unpacks one layer's uncompressed tar stream into `target`, which must not exist yet (its parent
 * must). On success `target` holds the layer in overlayfs form: whiteouts as 0/0 character devices,
 * opaque directories with the xattr `trusted.overlay.opaque=y`. On any failure `target` is removed
 * completely before the promise rejects with an {@link UnpackError}.
 */
export async function unpackLayer(
  tarStream: Readable,
  target: string,
  options: UnpackOptions,
): Promise<UnpackResult> {
  const limits: UnpackLimits = { ...DEFAULT_UNPACK_LIMITS, ...options.limits };
  try {
    if (!DIGEST.test(options.expectedDiffId)) {
      throw new UnpackError(
        UnpackErrorCode.DiffIdMismatch,
        `expected diffID '${printable(options.expectedDiffId)}' is not a sha256 digest`,
      );
    }
    options.signal?.throwIfAborted();
  } catch (error) {
    tarStream.destroy();
    throw unpackError(error, options.signal);
  }
  try {
    mkdirSync(target, 0o700);
  } catch (error) {
    tarStream.destroy();
    throw new UnpackError(
      UnpackErrorCode.TargetExists,
      `cannot create ${target}: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  try {
    return await unpack(tarStream, target, limits, options);
  } catch (error) {
    tarStream.destroy();
    const failure = unpackError(error, options.signal);
    // Even a half-written layer goes: rm never follows the symlinks it meets.
    await rm(target, { recursive: true, force: true, maxRetries: 3 }).catch((rmError: unknown) => {
      failure.message += `; removing ${target} failed too: ${(rmError as Error).message}`;
    });
    throw failure;
  }
}

/** Chunks handed to the worker and not yet written: bounds the memory between the two threads. */
const WINDOW = 4;

/**
 * Feeds the stream to an unpack worker, which does the synchronous writes off this thread: a write
 * stalled by the kernel's dirty-page throttling must not stall the service's event loop.
 */
async function unpack(
  tarStream: Readable,
  target: string,
  limits: UnpackLimits,
  options: UnpackOptions,
): Promise<UnpackResult> {
  const worker = acquireWorker();
  const replies = new WorkerReplies(worker);
  const cancel = () => replies.fail(new UnpackError(UnpackErrorCode.Aborted, 'the unpack was cancelled'));
  options.signal?.addEventListener('abort', cancel, { once: true });
  let completed = false;
  try {
    worker.postMessage({
      type: 'start',
      target,
      limits,
      expectedDiffId: options.expectedDiffId,
      nodesHelper: options.nodesHelper ?? DEFAULT_NODES_HELPER,
    } satisfies ToWorker);
    if (options.signal) addAbortSignal(options.signal, tarStream);
    let sent = 0;
    for await (const chunk of tarStream as AsyncIterable<Buffer>) {
      // A copy the worker then owns (a Buffer may share its memory with other Buffers).
      const data = new Uint8Array(chunk);
      worker.postMessage({ type: 'chunk', data } satisfies ToWorker, [data.buffer]);
      sent++;
      await replies.until(() => sent - replies.acks < WINDOW);
    }
    worker.postMessage({ type: 'end' } satisfies ToWorker);
    await replies.until(() => replies.result !== undefined);
    completed = true;
    return replies.result!;
  } finally {
    options.signal?.removeEventListener('abort', cancel);
    // A worker that failed, or was cancelled mid-write, is stopped before its layer is removed.
    if (completed) releaseWorker(worker);
    else await worker.terminate();
  }
}

function unpackError(error: unknown, signal: AbortSignal | undefined): UnpackError {
  if (error instanceof UnpackError) return error;
  if (signal?.aborted) {
    return new UnpackError(UnpackErrorCode.Aborted, 'the unpack was cancelled', { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new UnpackError(UnpackErrorCode.Aborted, `reading the layer failed: ${message}`, { cause: error });
}
