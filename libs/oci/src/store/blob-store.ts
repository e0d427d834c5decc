import type { Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDecompressor, decompressError } from '../decompress.js';
import {
  type Digest,
  digestHex,
  hashDigest,
  isDigest,
  newSha256,
  parseDigest,
  sha256Digest,
} from '../digest.js';
import { messageOf, OciError, OciErrorCode } from '../errors.js';
import type { Compression } from '../media-types.js';
import { writeFileAtomic } from './atomic-file.js';

/** The source of a blob: opens it at an offset; answers where it really starts (0 if it ignored the offset). */
export type BlobSource = (
  offset: number,
  signal?: AbortSignal,
) => Promise<{ body: AsyncIterable<Buffer>; offset: number }>;

/** What to fetch into the store. */
export interface IngestRequest {
  readonly digest: Digest;
  readonly size: number;
  /** For layers: also compute the digest of the uncompressed stream (the diffID). */
  readonly compression?: Compression;
  readonly open: BlobSource;
  /** Bytes verified so far of `size`; called often, throttle in the caller. */
  readonly onProgress?: (done: number, size: number) => void;
  readonly signal?: AbortSignal;
  /** Resumed attempts after a broken transfer; default 5. */
  readonly attempts?: number;
}

/** A blob in the store. */
export interface StoredBlob {
  readonly digest: Digest;
  readonly size: number;
  /** Digest of the uncompressed content, for layers. */
  readonly diffId?: Digest;
  /** True when it was already there. */
  readonly existed: boolean;
}

const WRITE_BATCH = 1024 * 1024;
/** How often {@link BlobStore.follow} looks for more of a download. */
const FOLLOW_POLL_MS = 20;

/**
 * A content-addressed blob store (`<root>/blobs/sha256/<hex>`), written so that nothing unverified
 * is ever visible: a download goes to `ingest/<hex>.partial`, its sha256, size and (for layers) the
 * diffID of its uncompressed stream are computed while it streams, then it is fsynced and renamed
 * into place. A broken transfer resumes with a range request — also after a crash, by re-hashing the
 * partial file first. Concurrent requests for one digest share one download.
 *
 * @example
 * const store = new BlobStore('/var/lib/lxr/images');
 * const layer = await store.openLayer(digest, 'gzip'); // uncompressed tar, diffID verified at the end
 */
export class BlobStore {
  readonly #inflight = new Map<
    Digest,
    { promise: Promise<StoredBlob>; listeners: Set<(done: number, size: number) => void> }
  >();
  readonly #blobs: string;
  readonly #ingest: string;
  readonly #diffIds: string;
  #ready: Promise<void> | undefined;

  constructor(readonly root: string) {
    this.#blobs = path.join(root, 'blobs', 'sha256');
    this.#ingest = path.join(root, 'ingest');
    this.#diffIds = path.join(root, 'diffids', 'sha256');
  }

  #init(): Promise<void> {
    this.#ready ??= Promise.all([
      mkdir(this.#blobs, { recursive: true, mode: 0o700 }),
      mkdir(this.#ingest, { recursive: true, mode: 0o700 }),
      mkdir(this.#diffIds, { recursive: true, mode: 0o700 }),
    ]).then(() => undefined);
    return this.#ready;
  }

  /** The file of a verified blob. */
  blobPath(digest: Digest): string {
    return path.join(this.#blobs, digestHex(digest));
  }

  /** The size of a stored blob, or `undefined` when it is not in the store. */
  async size(digest: Digest): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** The diffID recorded for a layer blob. */
  async diffId(digest: Digest): Promise<Digest | undefined> {
    try {
      return parseDigest(
        (await readFile(path.join(this.#diffIds, digestHex(digest)), 'utf8')).trim(),
        'stored diffID',
      );
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Every blob digest in the store. */
  async list(): Promise<Digest[]> {
    await this.#init();
    return (await readdir(this.#blobs)).map((hex) => `sha256:${hex}`).filter(isDigest);
  }

  /** Reads a small blob whole, verifying it again (documents are read this way). */
  async readBytes(digest: Digest, maxBytes: number): Promise<Buffer> {
    const size = await this.size(digest);
    if (size === undefined)
      throw new OciError(OciErrorCode.ImageNotFound, `blob ${digest} is not in the store`);
    if (size > maxBytes)
      throw new OciError(OciErrorCode.TooLarge, `blob ${digest} is ${size} bytes, more than ${maxBytes}`);
    const bytes = await readFile(this.blobPath(digest));
    if (sha256Digest(bytes) !== digest) {
      throw new OciError(
        OciErrorCode.DigestMismatch,
        `stored blob ${digest} is corrupt; remove the image and pull it again`,
      );
    }
    return bytes;
  }

  /** Stores bytes the caller has in memory (a manifest, a config) after checking their digest. */
  async putBytes(digest: Digest, bytes: Uint8Array): Promise<void> {
    await this.#init();
    const actual = sha256Digest(bytes);
    if (actual !== digest)
      throw new OciError(OciErrorCode.DigestMismatch, `content for ${digest} hashes to ${actual}`);
    if ((await this.size(digest)) === bytes.length) return;
    await writeFileAtomic(this.blobPath(digest), bytes, { mode: 0o444, tempDir: this.#ingest });
  }

  /**
   * Opens a stored blob as a stream that re-hashes what it reads and fails at the end if the file no
   * longer matches its digest.
   */
  openBlob(digest: Digest): Readable {
    return createReadStream(this.blobPath(digest), { highWaterMark: WRITE_BATCH }).pipe(
      new VerifyStream(digest, 'blob'),
    );
  }

  /**
   * Opens a layer as its uncompressed tar stream; the stream fails at the end unless the blob matches
   * its digest and the tar its recorded diffID. For the rootfs-builder.
   */
  async openLayer(digest: Digest, compression: Compression): Promise<Readable> {
    const diffId = await this.diffId(digest);
    if (!diffId)
      throw new OciError(
        OciErrorCode.ImageNotFound,
        `layer ${digest} has no recorded diffID: pull its image again`,
      );
    const out = new VerifyStream(diffId, 'uncompressed layer');
    const decompressor = createDecompressor(compression);
    pipeline(this.openBlob(digest), decompressor, out).catch((error) =>
      out.destroy(decompressError(error, digest, compression)),
    );
    return out;
  }

  /**
   * Follows a blob while it downloads: a stream of its bytes as they are written to the partial
   * download (or of the stored blob, once it is there), ending after `size` bytes. The bytes are not
   * verified — the caller checks what it derives from them (the rootfs-builder's unpacker checks the
   * diffID). Fails when the download restarts below what was read, when its partial file is deleted
   * (a failed download), or on `signal`.
   */
  follow(digest: Digest, size: number, signal?: AbortSignal): Readable {
    const partial = path.join(this.#ingest, `${digestHex(digest)}.partial`);
    const stored = this.blobPath(digest);
    async function* bytes(): AsyncGenerator<Buffer> {
      let fh: FileHandle | undefined;
      try {
        while (!fh) {
          signal?.throwIfAborted();
          fh =
            (await open(stored, 'r').catch(() => undefined)) ??
            (await open(partial, 'r').catch(() => undefined));
          if (!fh) await sleep(FOLLOW_POLL_MS);
        }
        let position = 0;
        while (position < size) {
          signal?.throwIfAborted();
          const buffer = Buffer.allocUnsafe(Math.min(WRITE_BATCH, size - position));
          const { bytesRead } = await fh.read(buffer, 0, buffer.length, position);
          if (bytesRead > 0) {
            position += bytesRead;
            yield buffer.subarray(0, bytesRead);
            continue;
          }
          const { size: now, nlink } = await fh.stat();
          if (now < position || nlink === 0) {
            throw new OciError(
              OciErrorCode.Aborted,
              `the download of ${digest} ${nlink === 0 ? 'was abandoned' : 'restarted'} while it was followed`,
            );
          }
          await sleep(FOLLOW_POLL_MS);
        }
      } finally {
        await fh?.close();
      }
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  /** Removes a blob (and its diffID). */
  async delete(digest: Digest): Promise<void> {
    await rm(this.blobPath(digest), { force: true });
    await rm(path.join(this.#diffIds, digestHex(digest)), { force: true });
  }

  /**
   * Removes partial downloads nobody is writing (after a crash, or to free space), and temp files
   * of atomic writes left by a crash (older than a minute: younger ones may be in flight).
   */
  async cleanIngest(): Promise<number> {
    await this.#init();
    let removed = 0;
    for (const name of await readdir(this.#ingest)) {
      const file = path.join(this.#ingest, name);
      if (name.endsWith('.partial') || name.endsWith('.lock')) {
        const hex = name.slice(0, name.lastIndexOf('.'));
        if (this.#inflight.has(`sha256:${hex}`)) continue;
        if (await lockHeld(path.join(this.#ingest, `${hex}.lock`))) continue;
      } else {
        const age = Date.now() - (await stat(file).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
        if (age < 60_000) continue;
      }
      await rm(file, { force: true });
      removed++;
    }
    return removed;
  }

  /**
   * Fetches a blob into the store unless it is there, verifying digest and size (and computing the
   * diffID for layers) while it streams. Concurrent calls for one digest share one download and all
   * get its progress.
   */
  ingest(request: IngestRequest): Promise<StoredBlob> {
    const running = this.#inflight.get(request.digest);
    if (running) {
      if (request.onProgress) running.listeners.add(request.onProgress);
      return running.promise;
    }
    const listeners = new Set<(done: number, size: number) => void>();
    if (request.onProgress) listeners.add(request.onProgress);
    const promise = this.#ingest1(request, (done, size) => {
      for (const listener of listeners) listener(done, size);
    }).finally(() => this.#inflight.delete(request.digest));
    this.#inflight.set(request.digest, { promise, listeners });
    return promise;
  }

  async #ingest1(
    request: IngestRequest,
    progress: (done: number, size: number) => void,
  ): Promise<StoredBlob> {
    await this.#init();
    if ((await this.size(request.digest)) === request.size) return this.#existing(request, progress);
    const release = await acquireLock(
      path.join(this.#ingest, `${digestHex(request.digest)}.lock`),
      request.signal,
    );
    try {
      // Another process may have stored it while this one waited for the lock.
      if ((await this.size(request.digest)) === request.size) return await this.#existing(request, progress);
      return await this.#download(request, progress);
    } finally {
      await release();
    }
  }

  /** A blob already stored: its recorded diffID, or one computed from it for a layer that has none. */
  async #existing(
    { digest, size, compression }: IngestRequest,
    progress: (done: number, size: number) => void,
  ): Promise<StoredBlob> {
    const diffId = compression
      ? ((await this.diffId(digest)) ?? (await this.#diffIdOfStored(digest, compression)))
      : undefined;
    progress(size, size);
    return { digest, size, ...(diffId ? { diffId } : {}), existed: true };
  }

  async #download(
    request: IngestRequest,
    progress: (done: number, size: number) => void,
  ): Promise<StoredBlob> {
    const { digest, size, compression } = request;
    const partial = path.join(this.#ingest, `${digestHex(digest)}.partial`);
    const fh = await open(partial, 'r+').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return open(partial, 'w+', 0o600);
      throw error;
    });
    let sink: IngestSink | undefined;
    try {
      sink = new IngestSink(fh, digest, size, compression, progress);
      await sink.prime(partial);
      const attempts = request.attempts ?? 5;
      for (let attempt = 1; ; attempt++) {
        // The source retries its own requests; here a transfer that broke mid-body is resumed.
        const { body, offset } = await request.open(sink.written, request.signal);
        if (offset !== sink.written) await sink.reset();
        try {
          for await (const chunk of body) await sink.write(chunk);
          break;
        } catch (error) {
          if (request.signal?.aborted) {
            throw new OciError(
              OciErrorCode.Aborted,
              `download of ${digest} stopped at ${sink.written} of ${size} bytes`,
              { cause: error },
            );
          }
          const retryable = error instanceof OciError ? error.retryable : true;
          if (!retryable || attempt >= attempts)
            throw error instanceof OciError ? error : transferError(digest, error);
          await new Promise((r) => setTimeout(r, Math.min(5_000, 100 * 2 ** attempt)));
        }
      }
      const diffId = await sink.finish();
      await fh.sync();
      await fh.close();
      if (diffId) await this.#writeDiffId(digest, diffId);
      await rename(partial, this.blobPath(digest));
      await syncDir(this.#blobs);
      return { digest, size, ...(diffId ? { diffId } : {}), existed: false };
    } catch (error) {
      sink?.abort();
      await fh.close().catch(() => undefined);
      // A definite mismatch means the partial file is poisoned; a network failure or an abort keeps
      // what was verified so far, to resume from.
      const resumable = error instanceof OciError && (error.retryable || error.code === OciErrorCode.Aborted);
      if (!resumable && !request.signal?.aborted) await unlink(partial).catch(() => undefined);
      throw error;
    }
  }

  async #writeDiffId(digest: Digest, diffId: Digest): Promise<void> {
    await writeFileAtomic(path.join(this.#diffIds, digestHex(digest)), `${diffId}\n`, {
      mode: 0o444,
      tempDir: this.#ingest,
    });
  }

  async #diffIdOfStored(digest: Digest, compression: Compression): Promise<Digest> {
    const hash = newSha256();
    const decompressor = createDecompressor(compression);
    decompressor.on('data', (chunk: Buffer) => hash.update(chunk));
    await pipeline(this.openBlob(digest), decompressor).catch((error) => {
      throw decompressError(error, digest, compression);
    });
    const diffId = hashDigest(hash);
    await this.#writeDiffId(digest, diffId);
    return diffId;
  }
}

/** Lock files this process holds (several stores may share a root in one process). */
const heldLocks = new Set<string>();

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when the lock file names a live holder (another process, or another store of this one). */
async function lockHeld(file: string): Promise<boolean> {
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  return pid === process.pid ? heldLocks.has(file) : processAlive(pid);
}

/**
 * Takes `<file>` exclusively (`O_EXCL`, holding this pid): one download of a digest at a time across
 * processes sharing a store. A lock whose holder died is taken over. Resolves with the release.
 */
async function acquireLock(file: string, signal?: AbortSignal): Promise<() => Promise<void>> {
  for (;;) {
    try {
      const fh = await open(file, 'wx', 0o600);
      try {
        await fh.writeFile(String(process.pid));
      } finally {
        await fh.close();
      }
      heldLocks.add(file);
      return async () => {
        heldLocks.delete(file);
        await rm(file, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (!(await lockHeld(file))) {
      await rm(file, { force: true });
      continue;
    }
    if (signal?.aborted)
      throw new OciError(OciErrorCode.Aborted, `waiting for ${path.basename(file)} aborted`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function transferError(digest: Digest, error: unknown): OciError {
  return new OciError(OciErrorCode.Network, `download of ${digest} broke: ${messageOf(error)}`, {
    cause: error,
    retryable: true,
  });
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Hashes, decompresses and writes one download, in batches of ~1 MiB. */
class IngestSink {
  written = 0;
  #hash: Hash = newSha256();
  #diffHash: Hash | undefined;
  #decompressor: Transform | undefined;
  #decompressFailed: Error | undefined;
  #batch: Buffer[] = [];
  #batchBytes = 0;
  #fileBytes = 0;

  constructor(
    private readonly fh: FileHandle,
    private readonly digest: Digest,
    private readonly size: number,
    private readonly compression: Compression | undefined,
    private readonly progress: (done: number, size: number) => void,
  ) {
    this.#startDecompressor();
  }

  #startDecompressor(): void {
    this.#decompressor?.destroy();
    this.#decompressFailed = undefined;
    if (!this.compression || this.compression === 'none') {
      this.#decompressor = undefined;
      this.#diffHash = undefined;
      return;
    }
    const hash = newSha256();
    const decompressor = createDecompressor(this.compression);
    decompressor.on('data', (chunk: Buffer) => hash.update(chunk));
    decompressor.on('error', (error) => {
      this.#decompressFailed = decompressError(error, this.digest, this.compression!);
    });
    this.#diffHash = hash;
    this.#decompressor = decompressor;
  }

  /** Feeds what an earlier attempt left in the partial file through the hashes. */
  async prime(file: string): Promise<void> {
    const { size } = await this.fh.stat();
    if (size === 0) return;
    if (size > this.size) return this.reset();
    for await (const chunk of createReadStream(file, { highWaterMark: WRITE_BATCH })) {
      await this.#consume(chunk as Buffer);
    }
    this.#fileBytes = size;
  }

  async reset(): Promise<void> {
    this.#batch = [];
    this.#batchBytes = 0;
    this.written = 0;
    this.#fileBytes = 0;
    this.#hash = newSha256();
    this.#startDecompressor();
    await this.fh.truncate(0);
  }

  async #consume(chunk: Buffer): Promise<void> {
    if (this.written + chunk.length > this.size) {
      throw new OciError(
        OciErrorCode.SizeMismatch,
        `blob ${this.digest} is longer than the ${this.size} bytes its descriptor says`,
      );
    }
    this.#hash.update(chunk);
    this.written += chunk.length;
    // A corrupt stream usually also fails the digest, which is the better error: keep hashing and
    // report the decompression failure only if the digest turns out right.
    if (this.#decompressor && !this.#decompressFailed && !this.#decompressor.write(chunk)) {
      await this.#drained(this.#decompressor);
    }
  }

  #drained(stream: Transform): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        stream.off('drain', done);
        stream.off('error', done);
        stream.off('close', done);
        resolve();
      };
      stream.on('drain', done);
      stream.on('error', done);
      stream.on('close', done);
    });
  }

  async write(chunk: Buffer): Promise<void> {
    await this.#consume(chunk);
    this.#batch.push(chunk);
    this.#batchBytes += chunk.length;
    if (this.#batchBytes >= WRITE_BATCH) await this.#flush();
    this.progress(this.written, this.size);
  }

  async #flush(): Promise<void> {
    if (this.#batchBytes === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    const { bytesWritten } = await this.fh.writev(batch, this.#fileBytes);
    this.#fileBytes += bytesWritten;
  }

  /** Checks size and digest, ends the decompressor, and answers the diffID (for layers). */
  async finish(): Promise<Digest | undefined> {
    await this.#flush();
    if (this.written !== this.size) {
      throw new OciError(
        OciErrorCode.SizeMismatch,
        `blob ${this.digest} ended after ${this.written} of ${this.size} bytes`,
      );
    }
    const actual = hashDigest(this.#hash);
    if (actual !== this.digest) {
      throw new OciError(
        OciErrorCode.DigestMismatch,
        `blob ${this.digest} downloaded with digest ${actual}: the registry served wrong content`,
      );
    }
    if (this.compression === 'none') return this.digest;
    if (!this.#decompressor) return undefined;
    if (!this.#decompressFailed) {
      const decompressor = this.#decompressor;
      const ended = new Promise<void>((resolve) => {
        decompressor.once('end', resolve);
        decompressor.once('error', () => resolve());
      });
      decompressor.end();
      await ended;
    }
    if (this.#decompressFailed) throw this.#decompressFailed;
    return hashDigest(this.#diffHash!);
  }

  abort(): void {
    this.#decompressor?.destroy();
  }
}

/** Re-hashes what flows through and fails at the end unless it matches `digest`. */
class VerifyStream extends Transform {
  readonly #hash = newSha256();
  constructor(
    private readonly digest: Digest,
    private readonly what: string,
  ) {
    super({ highWaterMark: WRITE_BATCH });
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    const actual = hashDigest(this.#hash);
    callback(
      actual === this.digest
        ? null
        : new OciError(
            OciErrorCode.DigestMismatch,
            `${this.what} ${this.digest} reads back as ${actual}: the store is corrupt`,
          ),
    );
  }
}
