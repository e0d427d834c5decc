import { mkdir, open, readFile, rename } from 'node:fs/promises';
import path from 'node:path';
import type { Digest } from '@lxr/oci';

/**
 * Which containers on this node use which image, so `lxr rmi` refuses an image in use and garbage
 * collection keeps it. Kept in `<images>/containers.json`, rewritten atomically, one writer at a time.
 */
export class ContainerUsage {
  readonly #file: string;
  #cache: Promise<Map<string, Digest>> | undefined;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(imagesRoot: string) {
    this.#file = path.join(imagesRoot, 'containers.json');
  }

  #load(): Promise<Map<string, Digest>> {
    this.#cache ??= readFile(this.#file, 'utf8').then(
      (text) => new Map(Object.entries(JSON.parse(text) as Record<string, Digest>)),
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return new Map<string, Digest>();
        throw error;
      },
    );
    return this.#cache;
  }

  #update(change: (map: Map<string, Digest>) => boolean): Promise<void> {
    const next = this.#chain.then(async () => {
      const map = await this.#load();
      if (!change(map)) return;
      await mkdir(path.dirname(this.#file), { recursive: true });
      const temp = `${this.#file}.tmp`;
      const fh = await open(temp, 'w', 0o600);
      try {
        await fh.writeFile(JSON.stringify(Object.fromEntries(map)));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(temp, this.#file);
    });
    this.#chain = next.catch(() => undefined);
    return next;
  }

  /** Records that a container uses an image. */
  use(containerId: string, digest: Digest): Promise<void> {
    return this.#update((map) => {
      if (map.get(containerId) === digest) return false;
      map.set(containerId, digest);
      return true;
    });
  }

  /** Forgets a removed container. */
  release(containerId: string): Promise<void> {
    return this.#update((map) => map.delete(containerId));
  }

  /** The images some container uses. */
  async inUse(): Promise<Set<Digest>> {
    await this.#chain;
    return new Set((await this.#load()).values());
  }

  /** How many containers use each image. */
  async counts(): Promise<Map<Digest, number>> {
    await this.#chain;
    const counts = new Map<Digest, number>();
    for (const digest of (await this.#load()).values()) counts.set(digest, (counts.get(digest) ?? 0) + 1);
    return counts;
  }

  /** The containers using an image. */
  async users(digest: Digest): Promise<string[]> {
    await this.#chain;
    return [...(await this.#load())].filter(([, d]) => d === digest).map(([id]) => id);
  }
}
