import { type Digest, sha256Digest } from './digest.js';
import { messageOf, OciError, OciErrorCode } from './errors.js';
import {
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  MAX_CONFIG_BYTES,
  parseImageConfig,
  parseManifestDocument,
  selectPlatform,
} from './manifest.js';
import { layerCompression } from './media-types.js';
import {
  formatPlatform,
  hostPlatform,
  normalizePlatform,
  type Platform,
  platformMatches,
} from './platform.js';
import { formatReference, type ImageReference, parseReference } from './reference.js';
import type { RegistryClient } from './registry/registry-client.js';
import type { ImageRecord, ImageStore, LayerRecord } from './store/image-store.js';

/** One layer's part of a pull's progress. */
export interface LayerProgress {
  readonly digest: Digest;
  readonly size: number;
  readonly done: number;
  /** `exists`: already in the store; `done`: downloaded and verified now. */
  readonly state: 'waiting' | 'downloading' | 'exists' | 'done';
}

/** Where a pull is, reported as it goes. */
export interface PullProgress {
  readonly reference: string;
  readonly digest?: Digest;
  readonly layers: readonly LayerProgress[];
}

/** How to pull. */
export interface PullOptions {
  /** Default: this host's platform. */
  readonly platform?: Platform;
  /**
   * `missing` (default) answers from the store without asking the registry when the reference is
   * known; `newer` asks the registry what the tag points at now (a HEAD) and pulls if it changed.
   */
  readonly policy?: 'missing' | 'newer';
  readonly signal?: AbortSignal;
  /** Progress, at most every `progressIntervalMs` and at every layer state change. */
  readonly onProgress?: (progress: PullProgress) => void;
  readonly progressIntervalMs?: number;
  /**
   * Called once manifest and config are known, before the first layer is downloaded (never for an
   * image answered from the store): the layers a consumer can start unpacking as each one lands.
   */
  readonly onResolved?: (image: { readonly digest: Digest; readonly layers: readonly LayerRecord[] }) => void;
}

/** What a pull produced. */
export interface PullResult {
  /** The normalised reference, e.g. `docker.io/library/busybox:latest`. */
  readonly reference: string;
  readonly image: ImageRecord;
  /** True when nothing had to be downloaded. */
  readonly cached: boolean;
  /** Layer bytes downloaded by this pull. */
  readonly downloadedBytes: number;
}

/** Options of an {@link ImagePuller}. */
export interface ImagePullerOptions {
  /** Layers downloaded at once per pull; default 4. */
  readonly concurrency?: number;
}

/**
 * Pulls images into an {@link ImageStore}: resolves the reference, picks the platform's manifest from
 * an index, stores manifest and config, downloads the layers (in parallel, each blob once however many
 * pulls want it), checks each layer's diffID against the config, then records the image.
 *
 * @example
 * const puller = new ImagePuller(new ImageStore(`${home}/images`), new RegistryClient());
 * const { image } = await puller.pull('localhost:5000/app:1', { onProgress: console.log });
 */
export class ImagePuller {
  readonly #concurrency: number;
  readonly #pulls = new Map<string, Promise<PullResult>>();

  constructor(
    readonly store: ImageStore,
    readonly client: RegistryClient,
    options: ImagePullerOptions = {},
  ) {
    this.#concurrency = Math.max(1, options.concurrency ?? 4);
  }

  /** Pulls an image (see {@link PullOptions}); concurrent pulls of one reference share the work. */
  pull(reference: string, options: PullOptions = {}): Promise<PullResult> {
    const ref = parseReference(reference);
    const platform = normalizePlatform(options.platform ?? hostPlatform());
    const key = `${formatReference(ref)} ${formatPlatform(platform)} ${options.policy ?? 'missing'}`;
    let pull = this.#pulls.get(key);
    if (!pull) {
      pull = this.#pull(ref, platform, options).finally(() => this.#pulls.delete(key));
      this.#pulls.set(key, pull);
    }
    return pull;
  }

  /**
   * The image a reference names in the store, if it is there, complete, for `platform`: after
   * `--platform linux/arm64 busybox`, plain `busybox` on an amd64 node is not answered with it.
   */
  async local(ref: ImageReference, platform: Platform): Promise<ImageRecord | undefined> {
    const name = formatReference(ref);
    const digest = ref.digest ?? (await this.store.lookup(name));
    if (!digest) return undefined;
    let image = await this.store.image(digest);
    if (!image && ref.digest) {
      // A pinned index digest: find the image chosen from it for this platform.
      image = (await this.store.list()).find(
        (i) => i.indexDigest === ref.digest && platformMatches(platform, i.platform),
      );
    }
    if (!image || !platformMatches(platform, image.platform)) return undefined;
    return (await this.#complete(image)) ? image : undefined;
  }

  async #complete(image: ImageRecord): Promise<boolean> {
    const sizes = await Promise.all(image.layers.map((l) => this.store.blobs.size(l.digest)));
    return sizes.every((size, i) => size === image.layers[i]!.size);
  }

  async #pull(ref: ImageReference, platform: Platform, options: PullOptions): Promise<PullResult> {
    const name = formatReference(ref);
    const explicit = options.platform !== undefined;
    const { signal } = options;
    const cachedResult = (image: ImageRecord): PullResult => {
      options.onProgress?.({
        reference: name,
        digest: image.digest,
        layers: image.layers.map((l) => ({ digest: l.digest, size: l.size, done: l.size, state: 'exists' })),
      });
      return { reference: name, image, cached: true, downloadedBytes: 0 };
    };
    const known = await this.local(ref, platform);
    // Without a digest, `local` found the image through the reference, which therefore names it already.
    if (known && (options.policy !== 'newer' || ref.digest)) return cachedResult(known);
    if (known && ref.tag) {
      const current = await this.client.resolveDigest(ref, ref.tag, signal).catch(() => undefined);
      if (current && (current === known.digest || current === known.indexDigest)) return cachedResult(known);
    }

    const top = await this.client.fetchManifest(ref, ref.digest ?? ref.tag!, signal);
    let document = parseManifestDocument(top.bytes, top.mediaType);
    let manifestDigest = top.digest;
    let manifestBytes = top.bytes;
    let indexDigest: Digest | undefined;
    const leased: Digest[] = [top.digest];
    const release = () => this.store.lease(leased);
    let unlease = release();
    try {
      if (document.kind === 'index') {
        const index: ImageIndex = document;
        indexDigest = top.digest;
        await this.store.blobs.putBytes(top.digest, top.bytes);
        const chosen = selectPlatform(index, platform);
        const child = await this.client.fetchManifest(ref, chosen.digest, signal);
        if (child.bytes.length !== chosen.size) {
          throw new OciError(
            OciErrorCode.SizeMismatch,
            `manifest ${chosen.digest} is ${child.bytes.length} bytes, the index says ${chosen.size}`,
          );
        }
        document = parseManifestDocument(child.bytes, child.mediaType ?? chosen.mediaType);
        if (document.kind !== 'manifest') {
          throw new OciError(
            OciErrorCode.InvalidManifest,
            `index ${top.digest} points at another index for ${formatPlatform(platform)}`,
          );
        }
        manifestDigest = child.digest;
        manifestBytes = child.bytes;
      }
      const manifest: ImageManifest = document;
      leased.push(manifestDigest, manifest.config.digest, ...manifest.layers.map((l) => l.digest));
      unlease();
      unlease = release();

      const existing = await this.store.image(manifestDigest);
      if (existing && (await this.#complete(existing))) {
        await this.store.tag(name, existing.digest);
        return cachedResult(existing);
      }

      const configBytes = await this.#fetchDocument(
        ref,
        manifest.config,
        MAX_CONFIG_BYTES,
        'image config',
        signal,
      );
      const config = parseImageConfig(configBytes);
      if (config.diffIds.length !== manifest.layers.length) {
        throw new OciError(
          OciErrorCode.InvalidManifest,
          `image ${manifestDigest} has ${manifest.layers.length} layers but its config lists ${config.diffIds.length} diffIDs`,
        );
      }
      if (explicit && !platformMatches(platform, config.platform)) {
        throw new OciError(
          OciErrorCode.NoMatchingPlatform,
          `image ${name} is for ${formatPlatform(config.platform)}, not the requested ${formatPlatform(platform)}`,
        );
      }
      await this.store.blobs.putBytes(manifestDigest, manifestBytes);
      await this.store.blobs.putBytes(manifest.config.digest, configBytes);
      options.onResolved?.({
        digest: manifestDigest,
        layers: manifest.layers.map((l, i) => ({
          digest: l.digest,
          diffId: config.diffIds[i]!,
          size: l.size,
          mediaType: l.mediaType,
        })),
      });

      const { layers, downloadedBytes } = await this.#layers(
        ref,
        name,
        manifestDigest,
        manifest.layers,
        config.diffIds,
        options,
      );
      const image: ImageRecord = {
        digest: manifestDigest,
        mediaType: manifest.mediaType,
        ...(indexDigest ? { indexDigest } : {}),
        config: {
          digest: manifest.config.digest,
          size: manifest.config.size,
          mediaType: manifest.config.mediaType,
        },
        platform: config.platform,
        layers,
        runtime: config.runtime,
        size: layers.reduce((sum, l) => sum + l.size, 0),
        ...(config.created ? { created: config.created } : {}),
        pulledAt: new Date().toISOString(),
      };
      await this.store.save(image, name);
      return { reference: name, image, cached: downloadedBytes === 0, downloadedBytes };
    } finally {
      unlease();
    }
  }

  /** Fetches a small blob (a config) whole, size-capped and verified, from the store if it is there. */
  async #fetchDocument(
    ref: ImageReference,
    descriptor: Descriptor,
    max: number,
    what: string,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    if (descriptor.size > max) {
      throw new OciError(
        OciErrorCode.TooLarge,
        `${what} ${descriptor.digest} is ${descriptor.size} bytes, more than ${max}`,
      );
    }
    if ((await this.store.blobs.size(descriptor.digest)) === descriptor.size) {
      return this.store.blobs.readBytes(descriptor.digest, max);
    }
    // Small enough to fetch again whole when the transfer breaks.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#readDocument(ref, descriptor, what, signal);
      } catch (error) {
        if (!(error instanceof OciError && error.retryable) || attempt >= 3 || signal?.aborted) throw error;
      }
    }
  }

  async #readDocument(
    ref: ImageReference,
    descriptor: Descriptor,
    what: string,
    signal?: AbortSignal,
  ): Promise<Buffer> {
    const { body } = await this.client.openBlob(ref, descriptor.digest, 0, signal);
    const chunks: Buffer[] = [];
    let total = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > descriptor.size) {
          body.destroy();
          throw new OciError(
            OciErrorCode.SizeMismatch,
            `${what} ${descriptor.digest} is longer than the ${descriptor.size} bytes its descriptor says`,
          );
        }
        chunks.push(chunk);
      }
    } catch (error) {
      if (error instanceof OciError) throw error;
      throw new OciError(
        OciErrorCode.Network,
        `reading ${what} ${descriptor.digest} failed: ${messageOf(error)}`,
        { cause: error, retryable: true },
      );
    }
    const bytes = Buffer.concat(chunks, total);
    if (total !== descriptor.size) {
      throw new OciError(
        OciErrorCode.SizeMismatch,
        `${what} ${descriptor.digest} is ${total} bytes, its descriptor says ${descriptor.size}`,
      );
    }
    const actual = sha256Digest(bytes);
    if (actual !== descriptor.digest) {
      throw new OciError(
        OciErrorCode.DigestMismatch,
        `${what} ${descriptor.digest} downloaded with digest ${actual}`,
      );
    }
    return bytes;
  }

  async #layers(
    ref: ImageReference,
    name: string,
    digest: Digest,
    descriptors: readonly Descriptor[],
    diffIds: readonly Digest[],
    options: PullOptions,
  ): Promise<{ layers: LayerRecord[]; downloadedBytes: number }> {
    // Mutated in place (a download reports every chunk); each report hands out copies.
    const progress: { -readonly [K in keyof LayerProgress]: LayerProgress[K] }[] = descriptors.map((d) => ({
      digest: d.digest,
      size: d.size,
      done: 0,
      state: 'waiting',
    }));
    const interval = options.progressIntervalMs ?? 100;
    let last = 0;
    const report = (force: boolean) => {
      if (!options.onProgress) return;
      const now = Date.now();
      if (!force && now - last < interval) return;
      last = now;
      options.onProgress({ reference: name, digest, layers: progress.map((p) => ({ ...p })) });
    };
    report(true);
    const layers: LayerRecord[] = new Array(descriptors.length);
    let downloadedBytes = 0;
    let next = 0;
    let failed: unknown;
    const worker = async () => {
      while (failed === undefined && next < descriptors.length) {
        const i = next++;
        const descriptor = descriptors[i]!;
        const compression = layerCompression(descriptor.mediaType)!;
        const layer = progress[i]!;
        layer.state = 'downloading';
        try {
          const stored = await this.store.blobs.ingest({
            digest: descriptor.digest,
            size: descriptor.size,
            compression,
            open: (offset, signal) => this.client.openBlob(ref, descriptor.digest, offset, signal),
            ...(options.onProgress
              ? {
                  onProgress: (done: number) => {
                    layer.done = done;
                    report(false);
                  },
                }
              : {}),
            ...(options.signal ? { signal: options.signal } : {}),
          });
          if (!stored.diffId || stored.diffId !== diffIds[i]) {
            throw new OciError(
              OciErrorCode.DiffIdMismatch,
              `layer ${i} (${descriptor.digest}) uncompresses to ${stored.diffId}, but the image config says ${diffIds[i]}`,
            );
          }
          if (!stored.existed) downloadedBytes += stored.size;
          layer.done = descriptor.size;
          layer.state = stored.existed ? 'exists' : 'done';
          layers[i] = {
            digest: descriptor.digest,
            diffId: stored.diffId!,
            size: descriptor.size,
            mediaType: descriptor.mediaType,
          };
          report(true);
        } catch (error) {
          failed ??= error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#concurrency, descriptors.length) }, worker));
    if (failed !== undefined) throw failed;
    return { layers, downloadedBytes };
  }
}
