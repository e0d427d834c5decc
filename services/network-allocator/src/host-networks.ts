import { NetworkError, NetworkErrorCode } from './errors.js';
import { formatCidr, type Ipv4Network, overlaps, parseCidr, parseIpv4 } from './ipv4.js';
import { run } from './run.js';

/** A network the host already uses: a route's destination or an interface's address. */
export interface HostNetwork {
  readonly network: Ipv4Network;
  readonly device: string;
  readonly source: 'route' | 'address';
}

/** Pools tried in order when `LXR_NETWORK_POOL` is unset: podman's default first, then others. */
export const DEFAULT_POOL_CANDIDATES: readonly string[] = [
  '10.88.0.0/16',
  '10.89.0.0/16',
  '10.90.0.0/16',
  '10.91.0.0/16',
  '172.29.0.0/16',
  '172.30.0.0/16',
  '192.168.224.0/20',
];

/**
 * The IPv4 networks in use on this host: every route of every table (but default routes) and every
 * interface address. `ignoreDevice` (lxr's own bridge) is left out, so a restart does not clash
 * with itself.
 */
export async function hostNetworks(ignoreDevice?: string): Promise<HostNetwork[]> {
  const [routes, addresses] = await Promise.all([
    run('ip', ['-j', '-4', 'route', 'show', 'table', 'all']),
    run('ip', ['-j', '-4', 'addr', 'show']),
  ]);
  const found: HostNetwork[] = [];
  for (const r of JSON.parse(routes.stdout || '[]') as { dst?: string; dev?: string; type?: string }[]) {
    if (!r.dst || r.dst === 'default' || r.dev === ignoreDevice) continue;
    if (r.type && r.type !== 'unicast' && r.type !== 'local') continue;
    const network = parseCidr(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
    if (network) found.push({ network, device: r.dev ?? '?', source: 'route' });
  }
  type AddrInfo = { family?: string; local?: string; prefixlen?: number };
  for (const link of JSON.parse(addresses.stdout || '[]') as { ifname: string; addr_info?: AddrInfo[] }[]) {
    if (link.ifname === ignoreDevice) continue;
    for (const a of link.addr_info ?? []) {
      const ip = a.local === undefined ? undefined : parseIpv4(a.local);
      if (a.family !== 'inet' || ip === undefined) continue;
      found.push({ network: { base: ip, prefixLength: 32 }, device: link.ifname, source: 'address' });
    }
  }
  return found;
}

/** The host networks `pool` overlaps; empty when it is safe to use. */
export function clashesOf(pool: Ipv4Network, host: readonly HostNetwork[]): HostNetwork[] {
  return host.filter((h) => overlaps(h.network, pool));
}

/** Throws `NETWORK_POOL_CLASH` naming what on the host `network` (called `label`) overlaps. */
export function refuseClash(network: Ipv4Network, host: readonly HostNetwork[], label: string): void {
  const clashes = clashesOf(network, host);
  if (clashes.length === 0) return;
  const what = clashes
    .slice(0, 3)
    .map((c) => `${c.source} ${formatCidr(c.network)} on ${c.device}`)
    .join(', ');
  throw new NetworkError(
    NetworkErrorCode.PoolClash,
    `${label} overlaps networks already on this host (${what}); choose a range no route or interface uses`,
  );
}

/**
 * The cluster pool: the one configured (refused when it clashes with the host), else the first
 * default candidate that clashes with nothing.
 */
export function choosePool(configured: string | undefined, host: readonly HostNetwork[]): Ipv4Network {
  if (configured !== undefined) {
    const pool = parseCidr(configured);
    if (!pool || pool.prefixLength > 28) {
      throw new NetworkError(
        NetworkErrorCode.PoolInvalid,
        `LXR_NETWORK_POOL "${configured}" is not an IPv4 network in CIDR notation with no host bits set, at most /28 (e.g. 10.88.0.0/16)`,
      );
    }
    refuseClash(pool, host, `LXR_NETWORK_POOL ${configured}`);
    return pool;
  }
  for (const candidate of DEFAULT_POOL_CANDIDATES) {
    const pool = parseCidr(candidate)!;
    if (clashesOf(pool, host).length === 0) return pool;
  }
  throw new NetworkError(
    NetworkErrorCode.PoolClash,
    `every default pool (${DEFAULT_POOL_CANDIDATES.join(', ')}) overlaps a network on this host; set LXR_NETWORK_POOL to a free range`,
  );
}
