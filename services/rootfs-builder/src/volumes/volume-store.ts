import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type EventStore, WrongExpectedVersionError } from '@lxr/event-store';
import {
  type EventData,
  isVolumeName,
  type RecordedEvent,
  type RootfsMount,
  type VolumeMount,
  type VolumePruneResult,
  type VolumeSummary,
  volumeNodeStream,
} from '@lxr/events';
import { KeyedLock, type Logger } from '@lxr/service-kit';
import { VolumeError, VolumeErrorCode } from './errors.js';
import {
  decide,
  evolve,
  initialVolumesState,
  type VolumeCommand,
  type VolumeRecord,
  type VolumesState,
} from './volume.decider.js';
import { copyTree, isEmptyDir, resolveInRoot, treeSize } from './volume-files.js';
import { bindMount, type PlannedMount, planMounts } from './volume-spec.js';

export interface VolumeStoreDeps {
  /** `$LXR_HOME/volumes`: one directory per volume, its data in `<name>/_data`. */
  readonly root: string;
  readonly node: string;
  readonly store: EventStore;
  /** Only `info` (volumes made and removed) and `warn` are used. */
  readonly logger: Pick<Logger, 'info' | 'warn'>;
}

/** A volume with the bytes its data takes (`lxr system df`). */
export type VolumeUsage = VolumeSummary & { readonly size: number };

/** Appends retried when another writer moved the node's volume stream in between. */
const MAX_ATTEMPTS = 10;

/**
 * The node's volumes: named ones (`-v name:/path`, `lxr volume create`) and anonymous ones
 * (`-v /path`) in `<root>/<name>/_data`, recorded as `VolumeCreated`/`VolumeRemoved` in
 * `volume-node-<node>`; which containers use each is kept beside it (`<root>/<name>/containers/<id>`),
 * so a volume in use is never removed. Work on one volume is serialised within the process; the
 * log's expected versions keep two processes from making one name twice.
 */
export class VolumeStore {
  readonly #deps: VolumeStoreDeps;
  readonly #stream: string;
  #state: VolumesState = initialVolumesState;
  #version = 0;
  /** Work on one volume (by name), one piece at a time. */
  readonly #locks = new KeyedLock();

  constructor(deps: VolumeStoreDeps) {
    this.#deps = deps;
    this.#stream = volumeNodeStream(deps.node);
  }

  /**
   * Resolves a container's `-v` list to OCI mounts: host directories (made when missing, as docker's
   * `-v` does), named volumes (made on first use) and anonymous ones; a volume made empty is filled
   * with what the image has at the destination (`rootfsPath` is the container's mounted root). Records
   * that the container uses each volume. Throws a {@link VolumeError} naming the `-v` at fault, having
   * undone the uses (and anonymous volumes) it recorded.
   */
  async prepare(
    containerId: string,
    volumes: readonly VolumeMount[],
    rootfsPath: string,
  ): Promise<RootfsMount[]> {
    const plan = planMounts(containerId, volumes);
    const mounts: RootfsMount[] = [];
    try {
      for (const planned of plan) {
        if (planned.kind === 'bind') {
          await this.#ensureHostPath(planned.hostPath);
          mounts.push(bindMount(planned.hostPath, planned.destination, planned.readOnly));
          continue;
        }
        const data = await this.#locks.run(planned.name, async () => {
          await this.#ensure(planned.name, { anonymous: planned.anonymous, labels: {}, containerId });
          await writeFile(path.join(this.#usesDir(planned.name), containerId), '');
          await this.#seed(planned, rootfsPath);
          return this.#dataDir(planned.name);
        });
        mounts.push(bindMount(data, planned.destination, planned.readOnly));
      }
    } catch (error) {
      await this.release(containerId, { removeAnonymous: true }).catch((e: unknown) =>
        this.#deps.logger.warn({ err: e, containerId }, 'undoing the volumes of a failed prepare failed'),
      );
      throw error;
    }
    return mounts;
  }

  /** The container is gone: it no longer uses its volumes; with `removeAnonymous` (`--rm`) its anonymous ones go. */
  async release(containerId: string, options: { readonly removeAnonymous: boolean }): Promise<void> {
    for (const volume of (await this.#refresh()).values()) {
      await this.#locks.run(volume.name, async () => {
        await rm(path.join(this.#usesDir(volume.name), containerId), { force: true });
        const own = volume.anonymous && volume.containerId === containerId;
        if (options.removeAnonymous && own && (await this.#users(volume.name)).length === 0) {
          // A prune may have taken it since the state was read: gone is what was wanted.
          await this.#remove(volume.name).catch((error: unknown) => {
            if (!(error instanceof VolumeError && error.code === VolumeErrorCode.NotFound)) throw error;
          });
        }
      });
    }
  }

  /** `lxr volume create`: makes the volume unless it exists (a random name when none is given). */
  async create(
    options: { readonly name?: string; readonly labels?: Readonly<Record<string, string>> } = {},
  ): Promise<VolumeSummary> {
    const name = options.name ?? randomBytes(32).toString('hex');
    if (!isVolumeName(name))
      throw new VolumeError(
        VolumeErrorCode.Invalid,
        `invalid volume name "${name}": use [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 128 characters`,
      );
    await this.#locks.run(name, () => this.#ensure(name, { anonymous: false, labels: options.labels ?? {} }));
    return this.inspect(name, { size: false });
  }

  /** Every volume of the node, by name, with the containers using it. */
  async list(): Promise<VolumeSummary[]> {
    const state = await this.#refresh();
    const names = [...state.keys()].sort();
    return Promise.all(names.map(async (name) => this.#summary(state.get(name)!)));
  }

  /** One volume, with the bytes its data takes unless `size: false`. */
  async inspect(name: string, options: { readonly size?: boolean } = {}): Promise<VolumeSummary> {
    const volume = (await this.#refresh()).get(name);
    if (!volume) throw this.#notFound(name);
    const summary = await this.#summary(volume);
    return options.size === false ? summary : { ...summary, size: await treeSize(this.#dataDir(name)) };
  }

  /** Every volume with its size, for `lxr system df`. */
  async usage(): Promise<VolumeUsage[]> {
    return Promise.all(
      (await this.list()).map(async (v) => ({ ...v, size: await treeSize(this.#dataDir(v.name)) })),
    );
  }

  /**
   * `lxr volume rm`: deletes the volume and its data. Refused while a container uses it, even with
   * `force`, as docker does; `force` only makes a missing volume no error.
   */
  async remove(name: string, options: { readonly force?: boolean } = {}): Promise<VolumePruneResult> {
    try {
      const reclaimedBytes = await this.#locks.run(name, () => this.#remove(name));
      return { removed: [name], reclaimedBytes };
    } catch (error) {
      if (options.force && error instanceof VolumeError && error.code === VolumeErrorCode.NotFound)
        return { removed: [], reclaimedBytes: 0 };
      throw error;
    }
  }

  /** Removes the volumes no container uses: anonymous ones only (docker ≥ 23), every one with `all`. */
  async prune(options: { readonly all?: boolean } = {}): Promise<VolumePruneResult> {
    const result = { removed: [] as string[], reclaimedBytes: 0 };
    for (const volume of (await this.#refresh()).values()) {
      if (!volume.anonymous && !options.all) continue;
      await this.#locks.run(volume.name, async () => {
        if ((await this.#users(volume.name)).length > 0 || !this.#state.has(volume.name)) return;
        result.reclaimedBytes += await this.#remove(volume.name);
        result.removed.push(volume.name);
      });
    }
    return result;
  }

  #dataDir = (name: string) => path.join(this.#deps.root, name, '_data');
  #usesDir = (name: string) => path.join(this.#deps.root, name, 'containers');

  #notFound(name: string): VolumeError {
    return new VolumeError(
      VolumeErrorCode.NotFound,
      `no volume "${name}" on node ${this.#deps.node} (lxr volume ls lists them)`,
    );
  }

  async #summary(volume: VolumeRecord): Promise<VolumeSummary> {
    return {
      name: volume.name,
      driver: 'local',
      mountpoint: this.#dataDir(volume.name),
      createdAt: volume.createdAt,
      labels: { ...volume.labels },
      anonymous: volume.anonymous,
      containers: await this.#users(volume.name),
    };
  }

  async #users(name: string): Promise<string[]> {
    return (
      await readdir(this.#usesDir(name)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return [];
        throw error;
      })
    ).sort();
  }

  /** Folds what was appended to the node's volume stream since the last read. */
  async #refresh(): Promise<VolumesState> {
    const events = await this.#deps.store.readStream(this.#stream, { fromVersion: this.#version + 1 });
    for (const event of events) {
      if (event.type === 'VolumeCreated' || event.type === 'VolumeRemoved')
        this.#state = evolve(this.#state, event as Parameters<typeof evolve>[1]);
      this.#version = event.metadata.streamVersion;
    }
    return this.#state;
  }

  /** Decides against the latest state and appends with its version, again when another writer won. */
  async #record(command: VolumeCommand): Promise<readonly RecordedEvent[]> {
    for (let attempt = 1; ; attempt++) {
      const events = decide(command, await this.#refresh());
      if (events.length === 0) return [];
      try {
        const correlationId =
          command.type === 'CreateVolume'
            ? (command.volume.containerId ?? command.volume.name)
            : command.name;
        const result = await this.#deps.store.append(
          this.#stream,
          this.#version,
          events.map((e) => ({ ...e, correlationId })),
        );
        await this.#refresh();
        return result.events;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError)) throw error;
        if (attempt >= MAX_ATTEMPTS)
          throw new VolumeError(
            VolumeErrorCode.Conflict,
            `the volumes of node ${this.#deps.node} changed under this request ${MAX_ATTEMPTS} times in a row; retry`,
            { cause: error },
          );
      }
    }
  }

  /** Records the volume unless the log has it, and makes its directories. */
  async #ensure(
    name: string,
    options: {
      readonly anonymous: boolean;
      readonly labels: Readonly<Record<string, string>>;
      readonly containerId?: string;
    },
  ): Promise<void> {
    if (!(await this.#refresh()).has(name)) {
      // A directory the log does not know is what a removal that stopped half-way left: not this volume's.
      await rm(path.join(this.#deps.root, name), { recursive: true, force: true });
      const volume: EventData<'VolumeCreated'> = {
        node: this.#deps.node,
        name,
        mountpoint: this.#dataDir(name),
        anonymous: options.anonymous,
        labels: { ...options.labels },
        ...(options.containerId === undefined ? {} : { containerId: options.containerId }),
      };
      // Another writer may have made it meanwhile: then nothing is recorded, and it is used as it is.
      if ((await this.#record({ type: 'CreateVolume', volume })).length > 0)
        this.#deps.logger.info({ volume: name, anonymous: options.anonymous }, 'volume created');
      await mkdir(this.#deps.root, { recursive: true, mode: 0o700 });
    }
    // Also for a volume the log has: a crash may have come between its record and its directories.
    await mkdir(this.#dataDir(name), { recursive: true, mode: 0o755 });
    await mkdir(this.#usesDir(name), { recursive: true, mode: 0o700 });
  }

  /** Fills an empty volume from the image, as docker does; a bind mount is never filled. */
  async #seed(planned: PlannedMount & { kind: 'volume' }, rootfsPath: string): Promise<void> {
    const data = this.#dataDir(planned.name);
    try {
      if (!(await isEmptyDir(data))) return;
      const source = await resolveInRoot(rootfsPath, planned.destination);
      if (!source || !(await lstat(source)).isDirectory()) return;
      await copyTree(source, data);
    } catch (error) {
      throw new VolumeError(
        VolumeErrorCode.SeedFailed,
        `could not fill volume "${planned.name}" with the image's ${planned.destination}: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }

  /** Deletes a volume (the caller holds its lock); the bytes it took. */
  async #remove(name: string): Promise<number> {
    const users = await this.#users(name);
    if (!(await this.#refresh()).has(name)) throw this.#notFound(name);
    const reclaimedBytes = users.length > 0 ? 0 : await treeSize(this.#dataDir(name));
    await this.#record({ type: 'RemoveVolume', node: this.#deps.node, name, users, reclaimedBytes });
    await rm(path.join(this.#deps.root, name), { recursive: true, force: true });
    this.#deps.logger.info({ volume: name, reclaimedBytes }, 'volume removed');
    return reclaimedBytes;
  }

  /** A bind mount's host path: made as a directory when missing, as docker's `-v` does. */
  async #ensureHostPath(hostPath: string): Promise<void> {
    try {
      await mkdir(hostPath, { recursive: true, mode: 0o755 });
    } catch (error) {
      // EEXIST: a file (or socket…) is there, which binds as it is.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
      throw new VolumeError(
        VolumeErrorCode.HostPath,
        `cannot use host path ${hostPath} for a bind mount: ${(error as Error).message}`,
        { cause: error },
      );
    }
  }
}
