import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, rename, rm, symlink, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { writeFileAtomic } from '@lxr/oci';
import { unpackLayer } from './unpack/index.js';

/** Where a layer's uncompressed tar comes from. */
export interface LayerSource {
  /** sha256 of the uncompressed tar, from the image config: the cache key and the unpacker's check. */
  readonly diffId: string;
  /** Opens the layer's uncompressed tar. */
  open(signal?: AbortSignal): Promise<Readable>;
}

/** A layer in the cache. */
export interface CachedLayer {
  readonly diffId: string;
  /** Bytes of file content the unpacker wrote. */
  readonly bytes: number;
}

/** What one unpack did. */
export interface UnpackedLayer {
  readonly diffId: string;
  readonly bytes: number;
  readonly entries: number;
  readonly ms: number;
}

export interface LayerCacheOptions {
  /** Hears of each layer unpacked. */
  readonly onUnpacked?: (layer: UnpackedLayer) => void;
  /** native/'s lxr-unpack-nodes; the unpacker's default (the repository's build) when absent. */
  readonly nodesHelper?: string;
}

interface Entry {
  readonly link: string;
  readonly bytes: number;
}

interface Meta {
  readonly diffId: string;
  readonly bytes: number;
  readonly entries: number;
}

const hexOf = (diffId: string): string => diffId.slice('sha256:'.length);

/**
 * The node's unpacked layers, keyed by diffID and shared read-only by every container's overlay:
 *
 *     <root>/sha256/<hex>   the layer's contents, in overlayfs form (never changed once there)
 *     <root>/l/<short>      → ../sha256/<hex>: the name a lowerdir uses (12 hex digits, so 128+
 *                           layers fit the one page of mount options; docker's overlay2 does the same)
 *     <root>/meta/<hex>.json  size and entry count, written before the contents appear
 *     <root>/tmp/           unpacks in progress and layers being deleted
 *
 * A layer is unpacked into `tmp/` and renamed into `sha256/` when complete, so a crash never leaves
 * anything that looks complete; {@link LayerCache.open} empties `tmp/`. Concurrent requests for one
 * layer share one unpack.
 */
export class LayerCache {
  readonly #layers = new Map<string, Entry>();
  readonly #inflight = new Map<string, Promise<void>>();
  readonly #pins = new Map<string, number>();

  private constructor(
    readonly root: string,
    private readonly options: LayerCacheOptions,
  ) {}

  /** Opens (creating) the cache at `root` and removes what a crash left half done. */
  static async open(root: string, options: LayerCacheOptions = {}): Promise<LayerCache> {
    const cache = new LayerCache(root, options);
    await Promise.all(
      ['sha256', 'l', 'meta'].map((d) => mkdir(path.join(root, d), { recursive: true, mode: 0o700 })),
    );
    await rm(path.join(root, 'tmp'), { recursive: true, force: true });
    await mkdir(path.join(root, 'tmp'), { mode: 0o700 });
    const links = new Map<string, string>();
    for (const link of await readdir(path.join(root, 'l'))) {
      const target = await readlink(path.join(root, 'l', link)).catch(() => '');
      links.set(path.basename(target), link);
    }
    const present = new Set(await readdir(path.join(root, 'sha256')));
    for (const name of await readdir(path.join(root, 'meta'))) {
      const hex = name.replace(/\.json$/, '');
      const meta = await readFile(path.join(root, 'meta', name), 'utf8')
        .then((t) => JSON.parse(t) as Meta)
        .catch(() => undefined);
      // A meta file without contents: the unpack it announced never finished.
      if (!meta || !present.has(hex)) {
        await rm(path.join(root, 'meta', name), { force: true });
        continue;
      }
      const link = links.get(hex) ?? (await cache.#link(hex));
      cache.#layers.set(`sha256:${hex}`, { link, bytes: meta.bytes });
      present.delete(hex);
    }
    // Contents without meta cannot be told from a layer being deleted when a crash hit: remove them.
    for (const hex of present) await cache.#delete(hex);
    for (const [hex, link] of links) {
      if (!cache.#layers.has(`sha256:${hex}`))
        await unlink(path.join(root, 'l', link)).catch(() => undefined);
    }
    return cache;
  }

  /** True when the layer is unpacked in the cache. */
  has(diffId: string): boolean {
    return this.#layers.has(diffId);
  }

  /** Every cached layer. */
  list(): CachedLayer[] {
    return [...this.#layers].map(([diffId, e]) => ({ diffId, bytes: e.bytes }));
  }

  /**
   * Unpacks a layer into the cache unless it is there; concurrent calls for one diffID share the
   * unpack. Rejects with the unpacker's `UnpackError` (`ROOTFS_LAYER_*`), leaving nothing behind.
   */
  ensure(source: LayerSource, signal?: AbortSignal): Promise<void> {
    if (this.#layers.has(source.diffId)) return Promise.resolve();
    let running = this.#inflight.get(source.diffId);
    if (!running) {
      running = this.#unpack(source, signal).finally(() => this.#inflight.delete(source.diffId));
      this.#inflight.set(source.diffId, running);
    }
    return running;
  }

  async #unpack(source: LayerSource, signal?: AbortSignal): Promise<void> {
    const hex = hexOf(source.diffId);
    const temp = path.join(this.root, 'tmp', `${hex.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    const started = performance.now();
    const stream = await source.open(signal);
    let result: { bytes: number; entries: number };
    try {
      result = await unpackLayer(stream, temp, {
        expectedDiffId: source.diffId,
        ...(signal ? { signal } : {}),
      });
    } finally {
      stream.destroy();
    }
    try {
      const meta: Meta = { diffId: source.diffId, bytes: result.bytes, entries: result.entries };
      await writeFileAtomic(path.join(this.root, 'meta', `${hex}.json`), JSON.stringify(meta), {
        tempDir: path.join(this.root, 'tmp'),
      });
      await rename(temp, path.join(this.root, 'sha256', hex));
    } catch (error) {
      await rm(temp, { recursive: true, force: true });
      throw error;
    }
    const link = await this.#link(hex);
    this.#layers.set(source.diffId, { link, bytes: result.bytes });
    this.options.onUnpacked?.({
      diffId: source.diffId,
      bytes: result.bytes,
      entries: result.entries,
      ms: Math.round(performance.now() - started),
    });
  }

  /** The short `l/` name of a layer: its first 12 hex digits, longer in the unlikely clash. */
  async #link(hex: string): Promise<string> {
    for (let length = 12; length <= hex.length; length += 4) {
      const link = hex.slice(0, length);
      const file = path.join(this.root, 'l', link);
      const target = `../sha256/${hex}`;
      try {
        await symlink(target, file);
        return link;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        if ((await readlink(file)) === target) return link;
      }
    }
    throw new Error(`no free link name for layer ${hex}`);
  }

  /**
   * The overlay `lowerdir` of an image's layers (`diffIds` bottom first, as images list them):
   * relative `l/` names, top layer first, for a mount made from {@link root}. Every layer must be cached.
   */
  lowerdir(diffIds: readonly string[]): string {
    const parts: string[] = [];
    for (let i = diffIds.length - 1; i >= 0; i--) {
      const entry = this.#layers.get(diffIds[i]!);
      if (!entry) throw new Error(`layer ${diffIds[i]} is not in the cache`);
      parts.push(`l/${entry.link}`);
    }
    return parts.join(':');
  }

  /** Keeps layers from {@link gc} while a container's root filesystem is made; call the result when done. */
  pin(diffIds: readonly string[]): () => void {
    for (const d of diffIds) this.#pins.set(d, (this.#pins.get(d) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const d of diffIds) {
        const n = (this.#pins.get(d) ?? 1) - 1;
        if (n <= 0) this.#pins.delete(d);
        else this.#pins.set(d, n);
      }
    };
  }

  /** Removes every cached layer not in `live`, not pinned and not being unpacked. */
  async gc(live: ReadonlySet<string>): Promise<{ layersRemoved: number; bytesFreed: number }> {
    let layersRemoved = 0;
    let bytesFreed = 0;
    for (const [diffId, entry] of [...this.#layers]) {
      if (live.has(diffId) || this.#pins.has(diffId) || this.#inflight.has(diffId)) continue;
      this.#layers.delete(diffId);
      await unlink(path.join(this.root, 'l', entry.link)).catch(() => undefined);
      await this.#delete(hexOf(diffId));
      layersRemoved++;
      bytesFreed += entry.bytes;
    }
    return { layersRemoved, bytesFreed };
  }

  /** Moves a layer's contents into `tmp/` (one rename: never half there) and removes them. */
  async #delete(hex: string): Promise<void> {
    const doomed = path.join(this.root, 'tmp', `rm-${hex.slice(0, 12)}-${randomBytes(4).toString('hex')}`);
    await rename(path.join(this.root, 'sha256', hex), doomed).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rm(path.join(this.root, 'meta', `${hex}.json`), { force: true });
    await rm(doomed, { recursive: true, force: true });
  }
}
