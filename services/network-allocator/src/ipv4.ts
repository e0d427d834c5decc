/** IPv4 addresses as unsigned 32-bit integers, and networks as (base, prefix length). */

/** An IPv4 network: `base` has no host bits set. */
export interface Ipv4Network {
  readonly base: number;
  readonly prefixLength: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** `10.88.0.2` → 0x0a580002; undefined for anything that is not a dotted quad. */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function formatIpv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The netmask of a prefix length, as an unsigned integer. */
const mask = (prefixLength: number): number =>
  prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;

/** `10.88.0.0/16`; undefined when malformed or when host bits are set (`10.88.0.1/16`). */
export function parseCidr(text: string): Ipv4Network | undefined {
  const [address, length, extra] = text.split('/');
  if (address === undefined || length === undefined || extra !== undefined || !/^\d{1,2}$/.test(length)) {
    return undefined;
  }
  const base = parseIpv4(address);
  const prefixLength = Number(length);
  if (base === undefined || prefixLength > 32) return undefined;
  if ((base & mask(prefixLength)) >>> 0 !== base) return undefined;
  return { base, prefixLength };
}

export function formatCidr(network: Ipv4Network): string {
  return `${formatIpv4(network.base)}/${network.prefixLength}`;
}

/** Number of addresses in the network. */
export const networkSize = (network: Ipv4Network): number => 2 ** (32 - network.prefixLength);

export function contains(network: Ipv4Network, address: number): boolean {
  return (address & mask(network.prefixLength)) >>> 0 === network.base;
}

export function overlaps(a: Ipv4Network, b: Ipv4Network): boolean {
  const shorter = Math.min(a.prefixLength, b.prefixLength);
  return (a.base & mask(shorter)) >>> 0 === (b.base & mask(shorter)) >>> 0;
}

/** The i-th subnet of `prefixLength` inside `network` (0-based). */
export function subnetAt(network: Ipv4Network, prefixLength: number, index: number): Ipv4Network {
  return { base: network.base + index * 2 ** (32 - prefixLength), prefixLength };
}

/**
 * The MAC docker derives from an address: `02:42` (locally administered, unicast) and the four
 * octets of the IP, so a reused address keeps its MAC and neighbours' ARP caches stay right.
 */
export function macForIpv4(address: number): string {
  const octets = [0x02, 0x42, address >>> 24, (address >>> 16) & 255, (address >>> 8) & 255, address & 255];
  return octets.map((o) => o.toString(16).padStart(2, '0')).join(':');
}
