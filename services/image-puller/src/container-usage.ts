import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { type Digest, writeFileAtomic } from '@lxr/oci';

/** A removed container: remembered so a pull finishing after its removal does not hold the image. */
const REMOVED = 'removed';
/** Tombstones kept; the oldest go first. */
const MAX_REMOVED = 10_000;
type Entry = Digest | typeof REMOVED;

/**
 * Which containers on this node use which image, so `lxr rmi` refuses an image in use and garbage
 * collection keeps it. Kept in `<images>/containers.json`, rewritten atomically, one writer at a time.
 * Container events are handled concurrently, so a removal can arrive before its pull finished: a
 * removed container is remembered and never marked as using an image again.
 */
export class ContainerUsage {
  readonly #file: string;
  #cache: Promise<Map<string, Entry>> | undefined;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(imagesRoot: string) {
    this.#file = path.join(imagesRoot, 'containers.json');
  }

  #load(): Promise<Map<string, Entry>> {
    this.#cache ??= readFile(this.#file, 'utf8').then(
      (text) => new Map(Object.entries(JSON.parse(text) as Record<string, Entry>)),
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return new Map<string, Entry>();
        throw error;
      },
    );
    return this.#cache;
  }

  #update(change: (map: Map<string, Entry>) => boolean): Promise<void> {
    const next = this.#chain.then(async () => {
      const map = await this.#load();
      if (!change(map)) return;
      await mkdir(path.dirname(this.#file), { recursive: true });
      await writeFileAtomic(this.#file, JSON.stringify(Object.fromEntries(map)), { mode: 0o600 });
    });
    this.#chain = next.catch(() => undefined);
    return next;
  }

  #images(map: Map<string, Entry>): [string, Digest][] {
    return [...map].filter((e): e is [string, Digest] => e[1] !== REMOVED);
  }

  /** Records that a container uses an image (unless it was removed already). */
  use(containerId: string, digest: Digest): Promise<void> {
    return this.#update((map) => {
      const known = map.get(containerId);
      if (known === digest || known === REMOVED) return false;
      map.set(containerId, digest);
      return true;
    });
  }

  /** Forgets a removed container. */
  release(containerId: string): Promise<void> {
    return this.#update((map) => {
      if (map.get(containerId) === REMOVED) return false;
      map.delete(containerId);
      map.set(containerId, REMOVED);
      let removed = 0;
      for (const entry of map.values()) if (entry === REMOVED) removed++;
      for (const [id, entry] of map) {
        if (removed <= MAX_REMOVED) break;
        if (entry === REMOVED) {
          map.delete(id);
          removed--;
        }
      }
      return true;
    });
  }

  /** The images some container uses. */
  async inUse(): Promise<Set<Digest>> {
    await this.#chain;
    return new Set(this.#images(await this.#load()).map(([, d]) => d));
  }

  /** How many containers use each image. */
  async counts(): Promise<Map<Digest, number>> {
    await this.#chain;
    const counts = new Map<Digest, number>();
    for (const [, digest] of this.#images(await this.#load()))
      counts.set(digest, (counts.get(digest) ?? 0) + 1);
    return counts;
  }

  /** The containers using an image. */
  async users(digest: Digest): Promise<string[]> {
    await this.#chain;
    return this.#images(await this.#load())
      .filter(([, d]) => d === digest)
      .map(([id]) => id);
  }
}
