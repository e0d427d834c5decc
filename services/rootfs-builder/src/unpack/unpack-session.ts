// One layer's unpack, fed chunk by chunk: the tap, tar's Parser and the writer wired together. It runs
// in an unpack worker (unpack-worker.ts): its writes are synchronous, and a write can stall for
// seconds when the kernel throttles dirty pages — which must never stall the service's event loop.
import { Parser, type ReadEntry } from 'tar';
import { UnpackError, UnpackErrorCode } from './errors.js';
import { LayerTap, padded } from './layer-tap.js';
import { LayerWriter, type WriterLimits } from './layer-writer.js';
import { printable } from './paths.js';

export interface SessionResult {
  readonly diffId: string;
  readonly entries: number;
  readonly bytes: number;
}

export class UnpackSession {
  readonly #tap: LayerTap;
  readonly #writer: LayerWriter;
  readonly #parser: Parser;
  readonly #expectedDiffId: string;

  constructor(target: string, limits: WriterLimits, expectedDiffId: string) {
    this.#expectedDiffId = expectedDiffId;
    this.#tap = new LayerTap(limits.maxBytes);
    const writer = new LayerWriter(target, limits);
    this.#writer = writer;
    const fail = (error: unknown) => {
      writer.failure ??= error;
    };
    this.#parser = new Parser({
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
    this.#parser.on('entry', (entry: ReadEntry) => {
      if (writer.failure !== undefined) return void entry.resume();
      try {
        const tapped = this.#tap.pending.shift();
        // The tap and the Parser must agree where each entry's content is, or one of them was fooled.
        if (!tapped || padded(tapped.size) !== entry.startBlockSize) {
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
    this.#parser.on('ignoredEntry', (entry: ReadEntry) => {
      fail(
        new UnpackError(
          UnpackErrorCode.UnsupportedEntry,
          `'${printable(entry.path)}' is a ${entry.type} entry${entry.meta ? ' larger than 1 MiB' : ''}, which lxr does not unpack`,
        ),
      );
    });
  }

  /** The next bytes of the tar; throws the first failure (an `UnpackError`, usually). */
  write(chunk: Buffer): void {
    this.#tap.update(chunk);
    this.#parser.write(chunk);
    if (this.#writer.failure !== undefined) throw this.#writer.failure;
  }

  /** The tar ended: checks it ended cleanly and is the expected diffID, then makes nodes and times. */
  async end(nodesHelper: string): Promise<SessionResult> {
    this.#parser.end();
    if (this.#writer.failure !== undefined) throw this.#writer.failure;
    const pending = this.#tap.pending[0];
    if (pending) {
      throw new UnpackError(
        UnpackErrorCode.Corrupt,
        `the layer's tar ends inside '${printable(pending.path)}'`,
      );
    }
    const diffId = this.#tap.digest();
    if (diffId !== this.#expectedDiffId) {
      throw new UnpackError(
        UnpackErrorCode.DiffIdMismatch,
        `the layer's uncompressed content is ${diffId}, not the diffID ${this.#expectedDiffId} of the image config`,
      );
    }
    await this.#writer.finish(nodesHelper);
    return { diffId, entries: this.#writer.entries, bytes: this.#writer.bytes };
  }
}
