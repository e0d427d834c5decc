import { type ChildProcess, spawn } from 'node:child_process';
import { NetworkError, NetworkErrorCode } from './errors.js';
import { formatIpv4 } from './ipv4.js';
import { deleteContainerNetwork } from './netns.js';
import { run } from './run.js';

/** A namespace with its veth pair on the bridge, made ahead of time and not yet addressed. */
export interface WarmLink {
  readonly netns: string;
  readonly hostVeth: string;
  /**
   * Gives `eth0` its MAC, address and default route, through the `ip -n <netns> -batch -`
   * process started with the link and waiting on its stdin: no process starts on this path.
   */
  configure(address: { ip: number; prefixLength: number; gateway: number; mac: string }): Promise<void>;
  /** Deletes the namespace and veth (an unused link, or one whose configuration failed). */
  discard(): Promise<void>;
}

export interface WarmPoolOptions {
  /** Links kept ready; 0 turns the pool off. */
  readonly size: number;
  readonly bridge: string;
  readonly netnsPrefix: string;
  readonly vethPrefix: string;
  readonly onError: (error: unknown) => void;
}

/** `lxr-w<pid>-<n>` and `lxvw<base36>`: the owner's pid is in both, so a reconciler can tell a dead owner's. */
export function warmNames(
  options: Pick<WarmPoolOptions, 'netnsPrefix' | 'vethPrefix'>,
  pid: number,
  n: number,
) {
  return {
    netns: `${options.netnsPrefix}w${pid}-${n}`,
    hostVeth: `${options.vethPrefix}w${(pid * 1_000_000 + (n % 1_000_000)).toString(36)}`,
  };
}

/** The pid that owns a warm link's namespace or veth name, or undefined for a container's. */
export function warmOwner(
  options: Pick<WarmPoolOptions, 'netnsPrefix' | 'vethPrefix'>,
  name: string,
): number | undefined {
  const ns = new RegExp(`^${escapeRegExp(options.netnsPrefix)}w(\\d+)-\\d+$`).exec(name);
  if (ns) return Number(ns[1]);
  const veth = new RegExp(`^${escapeRegExp(options.vethPrefix)}w([0-9a-z]+)$`).exec(name);
  if (veth) return Math.floor(Number.parseInt(veth[1]!, 36) / 1_000_000);
  return undefined;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');

/**
 * Keeps `size` container links made ahead of time, so that wiring a container is one
 * already-running `ip` process reading four lines — making a namespace and a veth pair and
 * starting processes are what cost milliseconds. Taken links are replaced in the background.
 */
export class WarmPool {
  readonly #ready: WarmLink[] = [];
  readonly #all = new Set<string>();
  readonly #making = new Set<Promise<void>>();
  #next = 0;
  #closed = false;

  constructor(private readonly options: WarmPoolOptions) {}

  /** Starts filling the pool. */
  start(): void {
    this.#fill();
  }

  /** A ready link, or undefined when none is (the caller then makes one itself). */
  take(): WarmLink | undefined {
    const link = this.#ready.shift();
    // The replacement is made once this link is configured: making one now would compete with
    // the configuration (both take the kernel's RTNL lock) on the path it exists to shorten.
    if (!link) this.#fill();
    return link;
  }

  /** Puts back a link that was taken but not configured. */
  giveBack(link: WarmLink): void {
    if (this.#closed) void link.discard();
    else this.#ready.push(link);
  }

  /** Links ready to be taken now. */
  get ready(): number {
    return this.#ready.length;
  }

  /** Netns and veth names of links this pool holds (ready or being made). */
  owns(name: string): boolean {
    return this.#all.has(name);
  }

  /** Deletes every link not taken, including those still being made. */
  async close(): Promise<void> {
    this.#closed = true;
    // Links still being made are discarded as they come.
    await Promise.all([...this.#ready.splice(0).map((l) => l.discard()), ...this.#making]);
  }

  #fill(): void {
    while (!this.#closed && this.#ready.length + this.#making.size < this.options.size) {
      const making: Promise<void> = this.#make()
        .then(async (link) => {
          if (this.#closed) await link.discard();
          else this.#ready.push(link);
        })
        .catch(this.options.onError)
        .finally(() => this.#making.delete(making));
      this.#making.add(making);
    }
  }

  async #make(): Promise<WarmLink> {
    const { netns, hostVeth } = warmNames(this.options, process.pid, this.#next++);
    this.#all.add(netns);
    this.#all.add(hostVeth);
    const forget = () => {
      this.#all.delete(netns);
      this.#all.delete(hostVeth);
    };
    try {
      await run(
        'ip',
        ['-batch', '-'],
        `netns add ${netns}\nlink add ${hostVeth} type veth peer name eth0 netns ${netns}\n` +
          `link set ${hostVeth} master ${this.options.bridge} up\n`,
      );
      const child = spawn('ip', ['-n', netns, '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      child.stdin!.write('link set lo up\n');
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      return warmLink(netns, hostVeth, child, () => {
        forget();
        this.#fill();
      });
    } catch (error) {
      forget();
      await deleteContainerNetwork(netns, hostVeth).catch(() => undefined);
      throw error;
    }
  }
}

function warmLink(netns: string, hostVeth: string, child: ChildProcess, done: () => void): WarmLink {
  const stderr: Buffer[] = [];
  child.stderr!.on('data', (b: Buffer) => stderr.push(b));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  return {
    netns,
    hostVeth,
    async configure({ ip, prefixLength, gateway, mac }) {
      child.stdin!.end(
        `link set eth0 address ${mac}\naddr add ${formatIpv4(ip)}/${prefixLength} dev eth0\n` +
          `link set eth0 up\nroute add default via ${formatIpv4(gateway)} dev eth0\n`,
      );
      const code = await exited;
      done();
      if (code !== 0) {
        throw new NetworkError(
          NetworkErrorCode.SetupFailed,
          `ip -n ${netns} -batch failed: ${Buffer.concat(stderr).toString().trim() || `exit code ${code}`}`,
        );
      }
    },
    async discard() {
      child.stdin!.end();
      await exited;
      await deleteContainerNetwork(netns, hostVeth);
      done();
    },
  };
}
