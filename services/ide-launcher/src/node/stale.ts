import { readdir, readFile, readlink } from 'node:fs/promises';
import { CODE_SERVER, TOOLS_MOUNT } from '../domain/code-server.js';

/**
 * Kills the code-servers already running in a container (the PID namespace of its init, `initPid`
 * on the node) but `except`: one a launcher started and lost track of — it crashed between the
 * launch and `IdeReady` — would otherwise hold on next to the new one. Returns the PIDs killed.
 */
export async function killStaleCodeServers(initPid: number, except?: number): Promise<number[]> {
  const namespace = await readlink(`/proc/${initPid}/ns/pid`).catch(() => undefined);
  if (!namespace) return [];
  const launcher = `${TOOLS_MOUNT}/bin/node\0${CODE_SERVER}\0`;
  const killed: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === except || Number(entry) === initPid) continue;
    if ((await readlink(`/proc/${entry}/ns/pid`).catch(() => '')) !== namespace) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.startsWith(launcher)) continue;
    try {
      process.kill(Number(entry), 'SIGKILL');
      killed.push(Number(entry));
    } catch {
      // Gone already.
    }
  }
  return killed;
}
