import path from 'node:path';
import { containerFilesDir, type HostEntry, hostsFile, writeInPlace } from './dns-files.js';
import type { Allocation } from './ipam.decider.js';
import { formatIpv4 } from './ipv4.js';

/** A container's line in the others' `/etc/hosts`: its hostname, name and short id. */
export function hostEntry(a: Allocation): HostEntry {
  const names = [...new Set([a.hostname ?? a.name, a.name, a.containerId.slice(0, 12)])];
  return { ip: formatIpv4(a.ip), names };
}

/**
 * The `/etc/hosts` of every container on the node's network: what a new container gets, and a
 * rewrite of all of them shortly after containers come or go (one for a burst), so each lists the
 * containers on the network now — off the path of `NetworkReady`.
 */
export class HostsFiles {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly home: string,
    private readonly allocations: () => readonly Allocation[],
    private readonly onError: (error: unknown) => void,
  ) {}

  /** The file of `self`: loopback, itself, then the others. */
  contentFor(self: Allocation): string {
    const others = this.allocations().filter((a) => a.containerId !== self.containerId);
    return hostsFile(hostEntry(self), others.map(hostEntry));
  }

  /**
   * Rewrites every container's file within a second, once however many changes come in between:
   * each rewrite touches every container's file, so a burst of creations must not pay it each time.
   */
  scheduleRefresh(): void {
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#refresh().catch(this.onError);
    }, 1_000);
    this.#timer.unref();
  }

  async #refresh(): Promise<void> {
    await Promise.all(
      this.allocations().map(async (a) => {
        const file = path.join(containerFilesDir(this.home, a.containerId), 'hosts');
        // Never re-create the file of a container being torn down.
        await writeInPlace(file, this.contentFor(a), false);
      }),
    );
  }

  close(): void {
    clearTimeout(this.#timer);
  }
}
