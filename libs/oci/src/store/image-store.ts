import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { type Digest, digestHex, isDigest, sha256Digest } from '../digest.js';
import { OciError, OciErrorCode } from '../errors.js';
import type { RuntimeConfig } from '../manifest.js';
import type { Platform } from '../platform.js';
import { formatReference, parseReference } from '../reference.js';
import { writeFileAtomic } from './atomic-file.js';
import { BlobStore } from './blob-store.js';

/** One layer of a pulled image. */
export interface LayerRecord {
  readonly digest: Digest;
  readonly diffId: Digest;
  readonly size: number;
  readonly mediaType: string;
}

/** A pulled image: everything a node needs to build its root filesystem and run it. */
export interface ImageRecord {
  /** Digest of the platform's image manifest: the image's identity. */
  readonly digest: Digest;
  readonly mediaType: string;
  /** The index (or manifest list) it was chosen from, if any. */
  readonly indexDigest?: Digest;
  readonly config: { readonly digest: Digest; readonly size: number; readonly mediaType: string };
  readonly platform: Platform;
  readonly layers: readonly LayerRecord[];
  readonly runtime: RuntimeConfig;
  /** Sum of the compressed layer sizes. */
  readonly size: number;
  readonly created?: string;
  readonly pulledAt: string;
}

/** An image with the references that name it. */
export interface ImageListing extends ImageRecord {
  readonly references: readonly string[];
}

/** What a garbage collection removed. */
export interface GcResult {
  readonly imagesRemoved: readonly Digest[];
  readonly blobsRemoved: number;
  readonly bytesFreed: number;
}

interface RefFile {
  readonly reference: string;
  readonly digest: Digest;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OciError(OciErrorCode.Store, `cannot read ${file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/**
 * The node's images: the {@link BlobStore} plus image records (`images/<hex>.json`, by manifest
 * digest) and references (`refs/<sha256 of the reference>.json` → digest), each written atomically.
 * Records are written only after every blob they name is in the store.
 */
export class ImageStore {
  readonly blobs: BlobStore;
  readonly #images: string;
  readonly #refs: string;
  readonly #leases = new Map<Digest, number>();
  #ready: Promise<void> | undefined;

  /** `root` is e.g. `LXR_HOME/images`. */
  constructor(readonly root: string) {
    this.blobs = new BlobStore(root);
    this.#images = path.join(root, 'images');
    this.#refs = path.join(root, 'refs');
  }

  #init(): Promise<void> {
    this.#ready ??= Promise.all([
      mkdir(this.#images, { recursive: true, mode: 0o700 }),
      mkdir(this.#refs, { recursive: true, mode: 0o700 }),
    ]).then(() => undefined);
    return this.#ready;
  }

  #refFile(reference: string): string {
    return path.join(this.#refs, `${digestHex(sha256Digest(reference))}.json`);
  }

  /** The image record of a manifest digest. */
  async image(digest: Digest): Promise<ImageRecord | undefined> {
    return readJson<ImageRecord>(path.join(this.#images, `${digestHex(digest)}.json`));
  }

  /** The digest a normalised reference names on this node. */
  async lookup(reference: string): Promise<Digest | undefined> {
    return (await readJson<RefFile>(this.#refFile(reference)))?.digest;
  }

  /**
   * What a user's name for an image means on this node: a reference (normalised as docker does:
   * `busybox` is `docker.io/library/busybox:latest`), a digest, or an id prefix of 12+ hex digits
   * (of the manifest or, as docker shows ids, the config). `reference` is set when a reference named
   * it. Throws `OCI_INVALID_REFERENCE` for a malformed name or an ambiguous prefix.
   *
   * @example
   * const found = await store.resolve('busybox'); // { image, reference: 'docker.io/library/busybox:latest' }
   */
  async resolve(name: string): Promise<{ image: ImageRecord; reference?: string } | undefined> {
    const hex = name.replace(/^sha256:/, '');
    if (/^[0-9a-f]{12,64}$/.test(hex)) {
      const matches = (await this.list()).filter(
        (i) => i.digest.slice(7).startsWith(hex) || i.config.digest.slice(7).startsWith(hex),
      );
      if (matches.length > 1) {
        throw new OciError(
          OciErrorCode.InvalidReference,
          `image id prefix "${name}" is ambiguous: give more digits`,
        );
      }
      if (matches[0]) return { image: matches[0] };
      if (isDigest(name)) return undefined;
    }
    const ref = parseReference(name);
    if (ref.digest && !ref.tag) {
      const image = await this.image(ref.digest);
      return image ? { image } : undefined;
    }
    const reference = formatReference(ref);
    const digest = await this.lookup(reference);
    const image = digest ? await this.image(digest) : undefined;
    return image ? { image, reference } : undefined;
  }

  /** Saves an image record (its blobs must be stored) and points `reference` at it. */
  async save(record: ImageRecord, reference?: string): Promise<void> {
    await this.#init();
    await writeFileAtomic(
      path.join(this.#images, `${digestHex(record.digest)}.json`),
      `${JSON.stringify(record, null, 1)}\n`,
    );
    if (reference) await this.tag(reference, record.digest);
  }

  /** Points a normalised reference at an image. */
  async tag(reference: string, digest: Digest): Promise<void> {
    await this.#init();
    await writeFileAtomic(
      this.#refFile(reference),
      `${JSON.stringify({ reference, digest } satisfies RefFile)}\n`,
    );
  }

  /** Every reference and the digest it names. */
  async references(): Promise<RefFile[]> {
    await this.#init();
    const names = (await readdir(this.#refs)).filter((n) => n.endsWith('.json'));
    const refs = await Promise.all(names.map((n) => readJson<RefFile>(path.join(this.#refs, n))));
    return refs.filter((r): r is RefFile => r !== undefined && isDigest(r.digest));
  }

  /** Every image with its references, newest pull first. */
  async list(): Promise<ImageListing[]> {
    await this.#init();
    const refs = await this.references();
    const names = (await readdir(this.#images)).filter((n) => n.endsWith('.json'));
    const records = await Promise.all(names.map((n) => readJson<ImageRecord>(path.join(this.#images, n))));
    return records
      .filter((r): r is ImageRecord => r !== undefined)
      .map((r) => ({
        ...r,
        references: refs
          .filter((ref) => ref.digest === r.digest)
          .map((ref) => ref.reference)
          .sort(),
      }))
      .sort((a, b) => b.pulledAt.localeCompare(a.pulledAt));
  }

  /** Removes a reference; answers the digest it named (the image stays until {@link gc}). */
  async untag(reference: string): Promise<Digest | undefined> {
    const digest = await this.lookup(reference);
    if (digest) await rm(this.#refFile(reference), { force: true });
    return digest;
  }

  /** Removes an image record and every reference to it (its blobs go with the next {@link gc}). */
  async removeImage(digest: Digest): Promise<string[]> {
    const refs = (await this.references()).filter((r) => r.digest === digest);
    for (const ref of refs) await rm(this.#refFile(ref.reference), { force: true });
    await rm(path.join(this.#images, `${digestHex(digest)}.json`), { force: true });
    return refs.map((r) => r.reference);
  }

  /**
   * Keeps blobs from {@link gc} while a pull writes them, before its record exists; call the
   * returned function when done.
   */
  lease(digests: Iterable<Digest>): () => void {
    const held = [...digests];
    for (const d of held) this.#leases.set(d, (this.#leases.get(d) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const d of held) {
        const n = (this.#leases.get(d) ?? 1) - 1;
        if (n <= 0) this.#leases.delete(d);
        else this.#leases.set(d, n);
      }
    };
  }

  /**
   * Garbage collection: removes images no reference names (unless in `keep`, e.g. images containers
   * use), then every blob no remaining image uses, then stale partial downloads.
   */
  async gc(keep: ReadonlySet<Digest> = new Set()): Promise<GcResult> {
    const images = await this.list();
    const imagesRemoved: Digest[] = [];
    const live = new Set<Digest>();
    for (const image of images) {
      if (image.references.length === 0 && !keep.has(image.digest)) {
        await rm(path.join(this.#images, `${digestHex(image.digest)}.json`), { force: true });
        imagesRemoved.push(image.digest);
        continue;
      }
      live.add(image.digest);
      if (image.indexDigest) live.add(image.indexDigest);
      live.add(image.config.digest);
      for (const layer of image.layers) live.add(layer.digest);
    }
    let blobsRemoved = 0;
    let bytesFreed = 0;
    for (const digest of await this.blobs.list()) {
      if (live.has(digest) || this.#leases.has(digest)) continue;
      bytesFreed += (await this.blobs.size(digest)) ?? 0;
      await this.blobs.delete(digest);
      blobsRemoved++;
    }
    await this.blobs.cleanIngest();
    return { imagesRemoved, blobsRemoved, bytesFreed };
  }
}
