import { PassThrough, Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { messageOf, OciError, OciErrorCode } from './errors.js';
import type { Compression } from './media-types.js';

/**
 * zstd decompression as a stream. Node 20's zlib has no zstd (it arrives in Node 22.15), so this
 * wraps fzstd, a pure-JS streaming decoder that needs no compiler.
 */
class ZstdDecompressStream extends Transform {
  readonly #decoder = new Decompress((data) => {
    this.push(data);
  });
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#decoder.push(chunk);
      callback();
    } catch (error) {
      callback(
        new OciError(OciErrorCode.Decompress, `zstd stream is corrupt: ${messageOf(error)}`, {
          cause: error,
        }),
      );
    }
  }
  override _flush(callback: TransformCallback): void {
    try {
      this.#decoder.push(new Uint8Array(0), true);
      callback();
    } catch (error) {
      callback(
        new OciError(OciErrorCode.Decompress, `zstd stream is corrupt: ${messageOf(error)}`, {
          cause: error,
        }),
      );
    }
  }
}

/** A stream that turns a layer blob into its uncompressed tar (a pass-through for `none`). */
export function createDecompressor(compression: Compression): Transform {
  switch (compression) {
    case 'gzip':
      // Errors surface as zlib's; callers name them with decompressError().
      return createGunzip({ chunkSize: 64 * 1024 });
    case 'zstd':
      return new ZstdDecompressStream({ highWaterMark: 1024 * 1024 });
    case 'none':
      return new PassThrough({ highWaterMark: 1024 * 1024 });
    default: {
      const never: never = compression;
      throw new OciError(OciErrorCode.UnsupportedMediaType, `unknown compression ${String(never)}`);
    }
  }
}

/** Wraps any error of a decompressor as `OCI_DECOMPRESS_FAILED` naming the layer. */
export function decompressError(error: unknown, digest: string, compression: Compression): OciError {
  if (error instanceof OciError) return error;
  return new OciError(
    OciErrorCode.Decompress,
    `layer ${digest}: ${compression} stream is corrupt: ${messageOf(error)}`,
    { cause: error },
  );
}
