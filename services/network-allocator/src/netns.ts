import { existsSync } from 'node:fs';
import { readdir, writeFile } from 'node:fs/promises';
import { formatIpv4 } from './ipv4.js';
import { run } from './run.js';

/** Where `ip netns` keeps named network namespaces. */
export const NETNS_DIR = '/run/netns';

/** One container's link to the bridge, as `createContainerNetwork` makes it. */
export interface ContainerLink {
  /** Named network namespace (`ip netns` name). */
  readonly netns: string;
  /** Host end of the veth pair, enslaved to the bridge; the other end is `eth0` in the namespace. */
  readonly hostVeth: string;
  readonly bridge: string;
  readonly ip: number;
  readonly prefixLength: number;
  readonly gateway: number;
  readonly mac: string;
  readonly mtu?: number;
}

/**
 * Makes the bridge (once) with the gateway address, up, and turns on what routing containers needs:
 * IPv4 forwarding, and `route_localnet` on the bridge so DNAT from 127.0.0.1 to a container is
 * routed (the firewall drops anything else that would use it).
 */
export async function ensureBridge(bridge: string, gateway: number, prefixLength: number): Promise<void> {
  const configure = `addr replace ${formatIpv4(gateway)}/${prefixLength} dev ${bridge}\nlink set ${bridge} up\n`;
  if (!existsSync(`/sys/class/net/${bridge}`)) {
    try {
      await run('ip', ['-batch', '-'], `link add name ${bridge} type bridge\n${configure}`);
    } catch (error) {
      // Another allocator on this node made it between our look and our add.
      if (!existsSync(`/sys/class/net/${bridge}`)) throw error;
      await run('ip', ['-batch', '-'], configure);
    }
  } else {
    await run('ip', ['-batch', '-'], configure);
  }
  await Promise.all([
    writeFile('/proc/sys/net/ipv4/ip_forward', '1'),
    writeFile(`/proc/sys/net/ipv4/conf/${bridge}/route_localnet`, '1'),
  ]);
}

/** Removes the bridge if it is there. */
export async function deleteBridge(bridge: string): Promise<void> {
  if (existsSync(`/sys/class/net/${bridge}`)) await run('ip', ['link', 'del', bridge]);
}

/**
 * The `ip -batch` lines, for the host and for inside the namespace, that wire one container: two
 * `ip` processes in all, whatever the number of steps. The peer is born in the namespace as
 * `eth0` with its MAC, so nothing is renamed or moved afterwards.
 */
export function linkBatches(link: ContainerLink): { host: string; inside: string } {
  const mtu = link.mtu === undefined ? '' : ` mtu ${link.mtu}`;
  const host = [
    `netns add ${link.netns}`,
    `link add ${link.hostVeth}${mtu} type veth peer name eth0${mtu} address ${link.mac} netns ${link.netns}`,
    `link set ${link.hostVeth} master ${link.bridge} up`,
  ];
  const inside = [
    'link set lo up',
    `addr add ${formatIpv4(link.ip)}/${link.prefixLength} dev eth0`,
    'link set eth0 up',
    `route add default via ${formatIpv4(link.gateway)} dev eth0`,
  ];
  return { host: `${host.join('\n')}\n`, inside: `${inside.join('\n')}\n` };
}

/**
 * Creates the namespace and the veth pair of one container. What an earlier, interrupted attempt
 * left behind (same names) is removed first, so a redelivered request always ends wired.
 */
export async function createContainerNetwork(link: ContainerLink): Promise<void> {
  if (existsSync(`${NETNS_DIR}/${link.netns}`) || existsSync(`/sys/class/net/${link.hostVeth}`)) {
    await deleteContainerNetwork(link.netns, link.hostVeth);
  }
  const { host, inside } = linkBatches(link);
  await run('ip', ['-batch', '-'], host);
  await run('ip', ['-n', link.netns, '-batch', '-'], inside);
}

/**
 * Deletes a container's veth pair and namespace; a part already gone is fine. The veth goes
 * first and explicitly: the kernel destroys a namespace (and the peer in it) asynchronously.
 */
export async function deleteContainerNetwork(netns: string, hostVeth: string | undefined): Promise<void> {
  const vethThere = () =>
    hostVeth !== undefined && hostVeth !== '' && existsSync(`/sys/class/net/${hostVeth}`);
  const netnsThere = () => netns !== '' && existsSync(`${NETNS_DIR}/${netns}`);
  const lines: string[] = [];
  if (vethThere()) lines.push(`link del ${hostVeth}`);
  if (netnsThere()) lines.push(`netns del ${netns}`);
  if (lines.length === 0) return;
  try {
    await run('ip', ['-force', '-batch', '-'], `${lines.join('\n')}\n`);
  } catch (error) {
    // The kernel may have destroyed the veth with its peer's namespace between our look and our
    // delete: only what is still there is a failure.
    if (vethThere() || netnsThere()) throw error;
  }
}

/** Named namespaces whose name starts with `prefix`. */
export async function listNetns(prefix: string): Promise<string[]> {
  const names = await readdir(NETNS_DIR).catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(prefix));
}

/** Host links whose name starts with `prefix` (the container veths). */
export async function listLinks(prefix: string): Promise<string[]> {
  const names = await readdir('/sys/class/net').catch(() => [] as string[]);
  return names.filter((n) => n.startsWith(prefix));
}
