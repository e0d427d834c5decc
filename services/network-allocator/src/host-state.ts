import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * What the allocator made on this host, recorded under `<LXR_HOME>/network/host.json` so that
 * `lxr down --purge` removes exactly that — even with non-default names — without the event log.
 */
export interface HostState {
  readonly bridge: string;
  readonly chainPrefix: string;
  readonly netnsPrefix: string;
  readonly vethPrefix: string;
  readonly subnet: string;
}

export const hostStateFile = (home: string): string => path.join(home, 'network', 'host.json');

export async function writeHostState(home: string, state: HostState): Promise<void> {
  await mkdir(path.dirname(hostStateFile(home)), { recursive: true });
  await writeFile(hostStateFile(home), `${JSON.stringify(state, null, 2)}\n`);
}

/** The recorded state, or undefined when the allocator never ran under this home. */
export async function readHostState(home: string): Promise<HostState | undefined> {
  try {
    return JSON.parse(await readFile(hostStateFile(home), 'utf8')) as HostState;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
