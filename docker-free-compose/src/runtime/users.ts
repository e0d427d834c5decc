import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

/** A local account a service runs as. */
export interface UserAccount {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

/** Whether this process runs as root (and so can run services as other users). */
export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Looks a user up in /etc/passwd, then with `id` (for NSS accounts). Throws naming the user. */
export async function lookupUser(name: string): Promise<UserAccount> {
  const passwd = await readFile('/etc/passwd', 'utf8').catch(() => '');
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid, , home] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) {
      return { name, uid: Number(uid), gid: Number(gid), home: home || '/' };
    }
  }
  try {
    const run = promisify(execFile);
    const uid = Number((await run('id', ['-u', name])).stdout.trim());
    const gid = Number((await run('id', ['-g', name])).stdout.trim());
    return { name, uid, gid, home: '/' };
  } catch (error) {
    throw new Error(`user "${name}" does not exist on this host (run infra/setup.sh to install it)`, {
      cause: error,
    });
  }
}
