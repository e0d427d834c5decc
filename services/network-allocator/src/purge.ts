import { rm } from 'node:fs/promises';
import path from 'node:path';
import { removeFirewall } from './firewall.js';
import { readHostState } from './host-state.js';
import { deleteBridge, deleteContainerNetwork, listLinks, listNetns } from './netns.js';

/** What {@link purgeHostNetwork} removed. */
export interface PurgeReport {
  readonly netns: number;
  readonly veths: number;
  readonly bridge: string | undefined;
}

/**
 * Removes everything the allocator made on this host under `home` — every namespace and veth of
 * its prefixes, its iptables chains and the jumps to them, the bridge — and its files. For
 * `lxr down --purge`, once the services are stopped.
 */
export async function purgeHostNetwork(home: string): Promise<PurgeReport> {
  const state = await readHostState(home);
  if (!state) return { netns: 0, veths: 0, bridge: undefined };
  const [netnses, links] = await Promise.all([listNetns(state.netnsPrefix), listLinks(state.vethPrefix)]);
  for (const link of links) await deleteContainerNetwork('', link);
  for (const netns of netnses) await deleteContainerNetwork(netns, undefined);
  await removeFirewall(state.chainPrefix);
  await deleteBridge(state.bridge);
  await rm(path.join(home, 'network'), { recursive: true, force: true });
  return { netns: netnses.length, veths: links.length, bridge: state.bridge };
}
