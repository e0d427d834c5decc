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
import { Parser, type ReadEntry } from 'tar';
import { UnpackError, UnpackErrorCode } from './errors.js';
import { LayerTap } from './layer-tap.js';
import { LayerWriter } from './layer-writer.js';
import { DEFAULT_NODES_HELPER } from './node-ops.js';
import { printable } from './paths.js';

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

async function unpack(
  tarStream: Readable,
  target: string,
  limits: UnpackLimits,
  options: UnpackOptions,
): Promise<UnpackResult> {
  const tap = new LayerTap(limits.maxBytes);
  const writer = new LayerWriter(target, limits);
  const fail = (error: unknown) => {
    writer.failure ??= error;
  };
  const parser = new Parser({
    brotli: false,
    zstd: false,
    onwarn: (code: string, message: string | Error) => {
      const text = typeof message === 'string' ? message : message.message;
      // An empty layer (just the end-of-archive blocks) is valid, though tar calls it unrecognised.
      if (code === 'TAR_BAD_ARCHIVE' && text === 'Unrecognized archive format' && writer.entries === 0)
        return;
      fail(new UnpackError(UnpackErrorCode.Corrupt, `the layer is not a valid tar: ${text}`));
    },
  });
  parser.on('entry', (entry: ReadEntry) => {
    if (writer.failure !== undefined) return void entry.resume();
    try {
      const tapped = tap.pending.shift();
      // The tap and the Parser must agree where each entry's content is, or one of them was fooled.
      if (!tapped || Math.ceil(tapped.size / 512) * 512 !== entry.startBlockSize) {
        throw new UnpackError(
          UnpackErrorCode.Corrupt,
          `the layer's tar is ambiguous at '${printable(entry.path)}': its PAX records disagree with its headers`,
        );
      }
      writer.entry(entry, tapped);
    } catch (error) {
      fail(error);
      entry.resume();
    }
  });
  parser.on('ignoredEntry', (entry: ReadEntry) => {
    fail(
      new UnpackError(
        UnpackErrorCode.UnsupportedEntry,
        `'${printable(entry.path)}' is a ${entry.type} entry${entry.meta ? ' larger than 1 MiB' : ''}, which lxr does not unpack`,
      ),
    );
  });
  if (options.signal) addAbortSignal(options.signal, tarStream);
  for await (const chunk of tarStream as AsyncIterable<Buffer>) {
    tap.update(chunk);
    parser.write(chunk);
    if (writer.failure !== undefined) throw writer.failure;
  }
  parser.end();
  if (writer.failure !== undefined) throw writer.failure;
  if (tap.pending.length > 0) {
    throw new UnpackError(
      UnpackErrorCode.Corrupt,
      `the layer's tar ends inside '${printable(tap.pending[0]!.path)}'`,
    );
  }
  const diffId = tap.digest();
  if (diffId !== options.expectedDiffId) {
    throw new UnpackError(
      UnpackErrorCode.DiffIdMismatch,
      `the layer's uncompressed content is ${diffId}, not the diffID ${options.expectedDiffId} of the image config`,
    );
  }
  await writer.finish(options.nodesHelper ?? DEFAULT_NODES_HELPER);
  return { diffId, entries: writer.entries, bytes: writer.bytes };
}

function unpackError(error: unknown, signal: AbortSignal | undefined): UnpackError {
  if (error instanceof UnpackError) return error;
  if (signal?.aborted) {
    return new UnpackError(UnpackErrorCode.Aborted, 'the unpack was cancelled', { cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new UnpackError(UnpackErrorCode.Aborted, `reading the layer failed: ${message}`, { cause: error });
}
