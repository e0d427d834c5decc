import { type FileHandle, mkdir, open, readFile, rm } from 'node:fs/promises';
import path from 'node:path';

/** Where a container's `hosts` and `resolv.conf` live, under `<LXR_HOME>/network/containers/<id>`. */
export function containerFilesDir(home: string, containerId: string): string {
  return path.join(home, 'network', 'containers', containerId);
}

/** One line of `/etc/hosts`. */
export interface HostEntry {
  readonly ip: string;
  readonly names: readonly string[];
}

/** `/etc/hosts` of a container: loopback, itself first, then the other containers of its network. */
export function hostsFile(self: HostEntry, others: readonly HostEntry[]): string {
  const lines = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    `${self.ip}\t${self.names.join(' ')}`,
    ...others.map((o) => `${o.ip}\t${o.names.join(' ')}`),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * `/etc/resolv.conf` of a container, as docker makes it: the host's file without the nameservers a
 * container cannot reach (127.0.0.0/8 and ::1, e.g. systemd-resolved's stub), and `fallback`
 * servers when none is left.
 */
export function resolvConf(hostResolvConf: string, fallback: readonly string[]): string {
  const kept: string[] = [];
  let servers = 0;
  for (const line of hostResolvConf.split('\n')) {
    const ns = /^\s*nameserver\s+(\S+)/.exec(line);
    if (ns) {
      const address = ns[1]!;
      if (address.startsWith('127.') || address === '::1' || address.includes(':')) continue;
      servers++;
    }
    if (line.trim() !== '') kept.push(line.trim());
  }
  if (servers === 0) kept.push(...fallback.map((s) => `nameserver ${s}`));
  return `${kept.join('\n')}\n`;
}

/** Reads the host's resolv.conf ('' when it has none). */
export const readHostResolvConf = (file = '/etc/resolv.conf'): Promise<string> =>
  readFile(file, 'utf8').catch(() => '');

/**
 * Writes a file in place (truncate, write): the executor bind-mounts these files, and a mount
 * follows the inode, so a rename would leave the container the old one. With `create` false a
 * missing file stays missing (its container is being torn down) and this resolves false.
 */
export async function writeInPlace(file: string, content: string, create = true): Promise<boolean> {
  let handle: FileHandle;
  try {
    handle = await open(file, create ? 'w' : 'r+', 0o644);
  } catch (error) {
    if (!create && (error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
  try {
    if (!create) await handle.truncate(0);
    await handle.write(content, 0);
    return true;
  } finally {
    await handle.close();
  }
}

/** Writes both files of a container and returns their paths. */
export async function writeContainerFiles(
  dir: string,
  hosts: string,
  resolv: string,
): Promise<{ hostsPath: string; resolvConfPath: string }> {
  await mkdir(dir, { recursive: true });
  const hostsPath = path.join(dir, 'hosts');
  const resolvConfPath = path.join(dir, 'resolv.conf');
  await Promise.all([writeInPlace(hostsPath, hosts), writeInPlace(resolvConfPath, resolv)]);
  return { hostsPath, resolvConfPath };
}

export const removeContainerFiles = (dir: string): Promise<void> => rm(dir, { recursive: true, force: true });
