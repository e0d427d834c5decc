import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type EventStore, WrongExpectedVersionError } from '@lxr/event-store';
import {
  containerStream,
  type EventData,
  type ImageLayer,
  imagePullStream,
  type LxrRecordedEvent,
  type RecordedEvent,
  type RootfsDiskUsage,
  type RootfsEvent,
  type RootfsMount,
  type RootfsPruneResult,
  rootfsStream,
  type VolumeMount,
  type VolumePruneResult,
  type VolumeSummary,
} from '@lxr/events';
import {
  type Compression,
  createDecompressor,
  type Digest,
  decompressError,
  type ImageStore,
  layerCompression,
} from '@lxr/oci';
import { KeyedLock } from '@lxr/service-kit';
import { type ContainerRootfs, exists, toolsMount } from './container-rootfs.js';
import { messageOf, RootfsError, RootfsErrorCode, rootfsCodeOf } from './errors.js';
import type { LayerCache, LayerSource } from './layer-cache.js';
import { mountPoints } from './mounts.js';
import {
  type ContainerFacts,
  decide,
  evolve,
  initialRootfsState,
  nextStep,
  type RootfsCommand,
  type RootfsState,
} from './rootfs.decider.js';

/** The volumes' part of a container's root filesystem (services/rootfs-builder/src/volumes). */
export interface ContainerVolumes {
  /** Makes the container's `-v` mounts (after its overlay is mounted, so named volumes can be seeded from it). */
  prepare(containerId: string, volumes: VolumeMount[], rootfsPath: string): Promise<RootfsMount[]>;
  /** Forgets the container's use of its volumes; anonymous ones go with an `--rm` container. */
  release(containerId: string, options: { removeAnonymous: boolean }): Promise<void>;
  /** Every volume with its size (`lxr system df`). */
  usage(): Promise<VolumeSummary[]>;
  /** Removes unused volumes: anonymous ones, with `all` named ones too. */
  prune(options: { all?: boolean }): Promise<VolumePruneResult>;
}

/** The logging the service needs (pino's shape). */
export interface RootfsLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface RootfsServiceDeps {
  readonly store: EventStore;
  readonly node: string;
  /** The node's image store (the image-puller's): layer blobs, and which images list which layers. */
  readonly images: ImageStore;
  readonly cache: LayerCache;
  readonly containers: ContainerRootfs;
  readonly volumes: ContainerVolumes;
  /** `$LXR_HOME/tools`: `current` in it is bind-mounted read-only at `/opt/lxr`. */
  readonly toolsDir: string;
  readonly logger: RootfsLogger;
  readonly signal?: AbortSignal;
  /** Layers unpacked at once for one container; default 4. */
  readonly unpackConcurrency?: number;
  /** Unpack layers as they are stored (`ImagePullResolved`); default true. */
  readonly pipelining?: boolean;
}

interface ContainerLog {
  readonly state: RootfsState;
  readonly version: number;
  readonly facts: ContainerFacts;
  readonly request: EventData<'ContainerRequested'> | undefined;
  /** Its anonymous volumes go with it: `--rm` (autoRemove) or `rm -v` (ContainerRemoved.volumes). */
  readonly removeAnonymousVolumes: boolean;
}

/** A pull that neither ends nor fails within this is no longer followed (ImagePulled still prepares). */
const PREFETCH_MAX_WAIT_MS = 60 * 60 * 1000;

/** The compression of a layer's media type; an error for one that is not a layer. */
function compressionOf(layer: ImageLayer): Compression {
  const compression = layerCompression(layer.mediaType);
  if (!compression) {
    throw new RootfsError(
      RootfsErrorCode.PrepareFailed,
      `layer ${layer.digest} has media type ${layer.mediaType}, which is not a layer lxr can unpack`,
    );
  }
  return compression;
}

/** A layer's bytes as its uncompressed tar (the unpacker checks the diffID of what comes out). */
function decompressed(raw: Readable, layer: ImageLayer, compression: Compression): Readable {
  if (compression === 'none') return raw;
  const out = createDecompressor(compression);
  pipeline(raw, out).catch((error) => out.destroy(decompressError(error, layer.digest, compression)));
  return out;
}

const lastVersion = (events: readonly RecordedEvent[]): number => events.at(-1)?.metadata.streamVersion ?? 0;

/**
 * The rootfs-builder's decisions: on `ImagePulled` for a container of this node it unpacks the
 * image's layers into the shared cache (once each), mounts the container's overlay, adds its
 * volumes and the node's tools, and records `RootfsPrepared` (or `RootfsFailed` with a reason code,
 * leaving nothing behind); on `ContainerRemoved` it unmounts and deletes the container's
 * directories and releases its volumes; on `ImageRemoved` it drops layers nothing uses any more.
 * Work is serialised per container, and every step first compares the log with the host
 * ({@link nextStep}), so redeliveries, restarts and {@link reconcile} all converge.
 */
export class RootfsService {
  readonly #locks = new KeyedLock();
  #gc: Promise<unknown> = Promise.resolve();
  /** Pipelined unpacks by container: aborted when the pull fails or the container goes. */
  readonly #prefetches = new Map<string, AbortController>();

  constructor(private readonly deps: RootfsServiceDeps) {}

  /** The bus handler for container and image events. */
  async handle(event: LxrRecordedEvent): Promise<void> {
    switch (event.type) {
      case 'ImagePullResolved':
        if (event.data.node === this.deps.node && event.data.containerId && this.deps.pipelining !== false) {
          this.prefetch(event.data.containerId, event.data.layers);
        }
        return;
      case 'ImagePulled':
        if (event.data.node === this.deps.node && event.data.containerId) {
          // A pipelined unpack still running finishes: the prepare shares it.
          await this.converge(event.data.containerId, event.data.layers, event.metadata.eventId);
        }
        return;
      case 'ImagePullFailed':
        if (event.data.containerId) this.#abortPrefetch(event.data.containerId);
        return;
      case 'ContainerRemoved':
        this.#abortPrefetch(event.data.containerId);
        await this.converge(event.data.containerId, undefined, event.metadata.eventId);
        return;
      case 'ImageRemoved':
        if (event.data.node === this.deps.node) await this.collectLayers();
        return;
      default:
        return;
    }
  }

  /**
   * Brings one container's root filesystem in line with the log. `layers` are the image's, from
   * `ImagePulled`; without them they are read from the container's pull stream.
   */
  converge(
    containerId: string,
    layers?: readonly ImageLayer[],
    causationId: string | null = null,
  ): Promise<void> {
    return this.#locks.run(containerId, () => this.#converge(containerId, layers, causationId));
  }

  async #converge(id: string, layers: readonly ImageLayer[] | undefined, causationId: string | null) {
    const [log, host] = await Promise.all([this.#readLog(id), this.#host(id)]);
    const step = nextStep(log.state, log.facts, host);
    switch (step) {
      case 'nothing':
        return;
      case 'tear-down':
        await this.#tearDown(id, log);
        return;
      case 'remount':
        if (!(await this.deps.containers.remount(id))) {
          this.deps.logger.warn(
            { containerId: id },
            'root filesystem cannot be mounted again: its layers are gone',
          );
        } else this.deps.logger.info({ containerId: id }, 'root filesystem mounted again');
        return;
      case 'prepare': {
        const imageLayers = layers ?? (await this.#pulledLayers(id));
        if (!imageLayers) return; // the pull has not finished: its ImagePulled brings us back
        // What an attempt cut short by a crash left: made again from scratch.
        if (host.hasDir) await this.deps.containers.remove(id);
        await this.#prepare(id, imageLayers, log, causationId);
        return;
      }
      default: {
        const _never: never = step;
        return _never;
      }
    }
  }

  async #readLog(id: string): Promise<ContainerLog> {
    const [rootfs, container] = await Promise.all([
      this.deps.store.readStream(rootfsStream(id)),
      this.deps.store.readStream(containerStream(id)),
    ]);
    const state = rootfs.reduce((s, e) => evolve(s, e as unknown as RootfsEvent), initialRootfsState);
    const requested = container.find((e) => e.type === 'ContainerRequested');
    const request = requested?.data as EventData<'ContainerRequested'> | undefined;
    const removals = container
      .filter((e) => e.type === 'ContainerRemoved')
      .map((e) => e.data as EventData<'ContainerRemoved'>);
    return {
      state,
      version: lastVersion(rootfs),
      request,
      removeAnonymousVolumes: request?.autoRemove === true || removals.some((r) => r.volumes === true),
      facts: { requestedHere: request?.node === this.deps.node, removed: removals.length > 0 },
    };
  }

  async #host(id: string): Promise<{ hasDir: boolean; mounted: boolean }> {
    const paths = this.deps.containers.paths(id);
    const hasDir = await exists(paths.dir);
    return { hasDir, mounted: hasDir && (await mountPoints()).has(paths.merged) };
  }

  async #pulledLayers(id: string): Promise<readonly ImageLayer[] | undefined> {
    const pulled = (await this.deps.store.readStream(imagePullStream(id))).find(
      (e) => e.type === 'ImagePulled',
    );
    return (pulled?.data as EventData<'ImagePulled'> | undefined)?.layers;
  }

  async #prepare(
    id: string,
    layers: readonly ImageLayer[],
    log: ContainerLog,
    causationId: string | null,
  ): Promise<void> {
    const { containers, cache, node } = this.deps;
    const diffIds = layers.map((l) => l.diffId);
    const unpin = cache.pin(diffIds);
    const t0 = performance.now();
    let t1 = t0;
    let rootfsPath: string | undefined;
    try {
      await this.ensureLayers(layers);
      t1 = performance.now();
      rootfsPath = await containers.create(id, diffIds);
      const mounts = await this.deps.volumes.prepare(id, [...(log.request?.volumes ?? [])], rootfsPath);
      const tools = await toolsMount(this.deps.toolsDir);
      if (tools) mounts.push(tools);
      await this.#record(id, log, causationId, {
        type: 'RecordPrepared',
        data: { containerId: id, node, rootfsPath, mounts },
      });
      this.deps.logger.debug(
        {
          containerId: id,
          layers: layers.length,
          unpackMs: Math.round(t1 - t0),
          mountMs: Math.round((performance.now() - t1) * 100) / 100,
        },
        'root filesystem prepared',
      );
    } catch (error) {
      // Shutting down is not the container's failure: the unacked event comes back after the restart.
      if (this.deps.signal?.aborted) {
        await this.#tearDown(id, log).catch(() => undefined);
        throw error;
      }
      this.deps.logger.warn({ err: error, containerId: id }, 'root filesystem failed');
      await this.#tearDown(id, log);
      await this.#record(id, log, causationId, {
        type: 'RecordFailed',
        data: { containerId: id, node, code: rootfsCodeOf(error), message: messageOf(error) },
      });
    } finally {
      unpin();
    }
  }

  /**
   * Unpacks an image's layers into the cache (those missing), a few at a time, from the stored blobs.
   * A layer whose pipelined unpack (from the download as it streamed) is running is waited for; if
   * that one failed — the download restarted, the container it was for went away — it is unpacked
   * again from the stored blob, and only that attempt's failure counts.
   */
  async ensureLayers(layers: readonly ImageLayer[]): Promise<void> {
    await this.#eachLayer(layers, undefined, async (layer) => {
      const source = this.layerSource(layer);
      await this.deps.cache.ensure(source, this.deps.signal).catch((error: unknown) => {
        if (this.deps.signal?.aborted) throw error;
        return this.deps.cache.ensure(source, this.deps.signal);
      });
    });
  }

  /** Runs `work` on the layers in order, `unpackConcurrency` at a time; no new one starts once `signal` is aborted. */
  async #eachLayer(
    layers: readonly ImageLayer[],
    signal: AbortSignal | undefined,
    work: (layer: ImageLayer) => Promise<void>,
  ): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < layers.length && !signal?.aborted) await work(layers[next++]!);
    };
    const n = Math.min(this.deps.unpackConcurrency ?? 4, layers.length);
    await Promise.all(Array.from({ length: n }, worker));
  }

  /**
   * Pipelining: while a container's image downloads, unpacks its layers as their bytes arrive — each
   * layer's partial download is followed (`BlobStore.follow`), decompressed and unpacked as it grows,
   * so when `ImagePulled` comes most of the work is done. Runs in the background (the event is acked
   * at once), layers in order, a few at a time. The bytes are not verified yet: the unpacker's diffID
   * check is the safety net (a layer that does not hash to its diffID is never cached), and a failure
   * here is not reported — the prepare on `ImagePulled` unpacks again from the verified blob and
   * reports that. `ImagePullFailed`, `ContainerRemoved` and shutdown abort it; `ImagePulled` lets it
   * finish (the prepare shares its unpacks).
   */
  prefetch(containerId: string, layers: readonly ImageLayer[]): void {
    if (this.#prefetches.has(containerId)) return;
    const abort = new AbortController();
    const signal = this.deps.signal ? AbortSignal.any([abort.signal, this.deps.signal]) : abort.signal;
    // A pull that neither ends nor fails in time is no longer followed (ImagePulled still prepares).
    const timer = setTimeout(() => abort.abort(), PREFETCH_MAX_WAIT_MS);
    timer.unref();
    this.#prefetches.set(containerId, abort);
    // No image record lists these layers until the pull ends: keep a collection from taking them.
    const unpin = this.deps.cache.pin(layers.map((l) => l.diffId));
    this.#eachLayer(layers, signal, async (layer) => {
      if (!this.deps.cache.has(layer.diffId))
        await this.deps.cache.ensure(this.#followedSource(layer, signal), signal);
    })
      .catch((error) =>
        this.deps.logger.debug(
          { err: error, containerId },
          'pipelined unpack failed; the prepare retries it',
        ),
      )
      .finally(() => {
        clearTimeout(timer);
        unpin();
        if (this.#prefetches.get(containerId) === abort) this.#prefetches.delete(containerId);
      });
  }

  /** Stops following a container's pull: its unpacks fail, and a prepare waiting for one retries it. */
  #abortPrefetch(containerId: string): void {
    this.#prefetches.get(containerId)?.abort();
  }

  /** A layer as its download streams in, decompressed. */
  #followedSource(layer: ImageLayer, signal: AbortSignal): LayerSource {
    return {
      diffId: layer.diffId,
      open: async () => {
        const compression = compressionOf(layer);
        const raw = this.deps.images.blobs.follow(layer.digest as Digest, layer.size, signal);
        return decompressed(raw, layer, compression);
      },
    };
  }

  /** A layer blob of the image store as its uncompressed tar. */
  layerSource(layer: ImageLayer): LayerSource {
    const { blobs } = this.deps.images;
    const digest = layer.digest as Digest;
    return {
      diffId: layer.diffId,
      open: async () => {
        const compression = compressionOf(layer);
        if ((await blobs.size(digest)) !== layer.size) {
          throw new RootfsError(
            RootfsErrorCode.LayerMissing,
            `layer ${layer.digest} is not in the node's image store (was its image removed?): pull the image again`,
          );
        }
        return decompressed(
          createReadStream(blobs.blobPath(digest), { highWaterMark: 1024 * 1024 }),
          layer,
          compression,
        );
      },
    };
  }

  async #record(id: string, log: ContainerLog, causationId: string | null, command: RootfsCommand) {
    let { state, version } = log;
    for (let attempt = 0; ; attempt++) {
      const events = decide(command, state);
      if (events.length === 0) return;
      try {
        await this.deps.store.append(
          rootfsStream(id),
          version === 0 ? 'no-stream' : version,
          events.map((e) => ({ type: e.type, data: e.data, correlationId: id, causationId })),
        );
        return;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError) || attempt >= 3) throw error;
        ({ state, version } = await this.#readLog(id));
      }
    }
  }

  async #tearDown(id: string, log: ContainerLog): Promise<void> {
    const removed = await this.deps.containers.remove(id);
    await this.deps.volumes.release(id, { removeAnonymous: log.removeAnonymousVolumes });
    if (removed) this.deps.logger.debug({ containerId: id }, 'root filesystem removed');
  }

  /**
   * At start: every container with directories here is compared with the log (removed ones go,
   * prepared ones are mounted again after a reboot, half-made ones go and are made again by their
   * redelivered `ImagePulled`); then layers nothing uses are dropped.
   */
  async reconcile(): Promise<void> {
    for (const id of await this.deps.containers.containers()) {
      await this.converge(id).catch((error) =>
        this.deps.logger.error({ err: error, containerId: id }, 'reconciling a root filesystem failed'),
      );
    }
    await this.collectLayers();
  }

  /** The layers some image on the node lists, and how many images list each. */
  async #imageLayers(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const image of await this.deps.images.list()) {
      for (const layer of image.layers) counts.set(layer.diffId, (counts.get(layer.diffId) ?? 0) + 1);
    }
    return counts;
  }

  /** The layers containers' overlays stack, and how many containers stack each. */
  async #containerLayers(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const id of await this.deps.containers.containers()) {
      for (const diffId of new Set((await this.deps.containers.layersOf(id)) ?? [])) {
        counts.set(diffId, (counts.get(diffId) ?? 0) + 1);
      }
    }
    return counts;
  }

  /** Removes cached layers that no image on the node lists and no container stacks; one run at a time. */
  collectLayers(): Promise<RootfsPruneResult> {
    const run = this.#gc.then(async () => {
      const [images, containers] = await Promise.all([this.#imageLayers(), this.#containerLayers()]);
      const result = await this.deps.cache.gc(new Set([...images.keys(), ...containers.keys()]));
      if (result.layersRemoved > 0) this.deps.logger.info(result, 'unused layers removed');
      return result;
    });
    this.#gc = run.catch(() => undefined);
    return run;
  }

  /** `lxr system df`: the layer cache and the containers' own writes. */
  async diskUsage(): Promise<RootfsDiskUsage> {
    const [images, containers, uppers, volumes] = await Promise.all([
      this.#imageLayers(),
      this.#containerLayers(),
      this.deps.containers.upperSizes(),
      this.deps.volumes.usage(),
    ]);
    return {
      layers: this.deps.cache.list().map((l) => ({
        diffId: l.diffId,
        size: l.bytes,
        containers: containers.get(l.diffId) ?? 0,
        images: images.get(l.diffId) ?? 0,
      })),
      containers: [...uppers].map(([containerId, size]) => ({ containerId, size })),
      volumes,
    };
  }

  /** `lxr system prune`: unused layers, and with `volumes` unused volumes (`all`: named ones too). */
  async prune(options: { volumes?: boolean; all?: boolean } = {}): Promise<RootfsPruneResult> {
    const layers = await this.collectLayers();
    if (!options.volumes) return layers;
    return { ...layers, volumes: await this.deps.volumes.prune({ all: options.all === true }) };
  }
}
