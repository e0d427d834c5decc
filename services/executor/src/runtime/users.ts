import { constants } from 'node:fs';
import { lstat, open } from 'node:fs/promises';
import path from 'node:path';
import { ExecutorError, ExecutorErrorCode } from '../errors.js';

/** Who the container's process runs as. */
export interface ProcessUser {
  readonly uid: number;
  readonly gid: number;
  readonly additionalGids: number[];
  readonly home: string;
}

/**
 * Reads `/etc/<name>` of a root filesystem without following symlinks, so an image cannot make
 * the executor read a file of the host; a missing or linked file reads as empty.
 */
async function readEtc(rootfs: string, name: 'passwd' | 'group'): Promise<string> {
  try {
    if ((await lstat(path.join(rootfs, 'etc'))).isSymbolicLink()) return '';
    const file = await open(path.join(rootfs, 'etc', name), constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      return await file.readFile('utf8');
    } finally {
      await file.close();
    }
  } catch {
    return '';
  }
}

const records = (text: string) =>
  text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'));

const NUMERIC = /^[0-9]+$/;

/**
 * Resolves `--user` (`name`, `uid`, `name:group`, `uid:gid`) against the image's passwd and group
 * files as docker does: numeric ids need no entry, names must have one; supplementary groups are
 * the groups listing the user. Root when `user` is empty.
 */
export async function resolveUser(rootfs: string, user: string | undefined): Promise<ProcessUser> {
  const [userPart = '', groupPart] = (user ?? '').split(':', 2);
  const passwd = records(await readEtc(rootfs, 'passwd'));
  const name = userPart === '' ? 'root' : userPart;
  const entry = NUMERIC.test(name) ? passwd.find((p) => p[2] === name) : passwd.find((p) => p[0] === name);
  if (!entry && !NUMERIC.test(name)) {
    throw new ExecutorError(
      ExecutorErrorCode.UserUnknown,
      `unable to find user ${name}: no matching entries in the image's /etc/passwd`,
    );
  }
  const uid = entry ? Number(entry[2]) : Number(name);
  let gid = entry ? Number(entry[3]) : 0;
  const groups = records(await readEtc(rootfs, 'group'));
  if (groupPart !== undefined && groupPart !== '') {
    if (NUMERIC.test(groupPart)) {
      gid = Number(groupPart);
    } else {
      const group = groups.find((g) => g[0] === groupPart);
      if (!group) {
        throw new ExecutorError(
          ExecutorErrorCode.UserUnknown,
          `unable to find group ${groupPart}: no matching entries in the image's /etc/group`,
        );
      }
      gid = Number(group[2]);
    }
  }
  const userName = entry?.[0];
  const additionalGids =
    userName === undefined
      ? []
      : groups
          .filter((g) => (g[3] ?? '').split(',').includes(userName))
          .map((g) => Number(g[2]))
          .filter((g) => Number.isInteger(g) && g !== gid);
  if (!Number.isInteger(uid) || !Number.isInteger(gid) || uid < 0 || gid < 0) {
    throw new ExecutorError(ExecutorErrorCode.UserUnknown, `the image's entry for user ${name} is malformed`);
  }
  return { uid, gid, additionalGids: [...new Set(additionalGids)], home: entry?.[5] || '/' };
}
