import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { RootfsError, RootfsErrorCode } from './errors.js';

/**
 * The overlay mounts, through native/'s `lxr-mount` (one static binary: chdir + mount(2), or
 * umount2 with MNT_DETACH). Node cannot chdir per call, and the relative `l/<id>` lower dirs need
 * the layer cache as the working directory.
 */
export class Mounter {
  constructor(readonly binary: string) {}

  /** Mounts an overlay on `target`: `lower` top layer first, relative to `dir`. */
  overlay(dir: string, lower: string, upper: string, work: string, target: string): Promise<void> {
    return this.#run(['overlay', dir, lower, upper, work, target], RootfsErrorCode.MountFailed);
  }

  /** Detaches whatever is mounted on `target`; nothing mounted there is fine. */
  unmount(target: string): Promise<void> {
    return this.#run(['unmount', target], RootfsErrorCode.UnmountFailed);
  }

  #run(args: string[], code: RootfsErrorCode): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (s: string) => {
        stderr += s;
      });
      child.once('error', (error) =>
        reject(new RootfsError(code, `cannot run ${this.binary}: ${error.message}`, { cause: error })),
      );
      child.once('close', (status) => {
        if (status === 0) return resolve();
        reject(
          new RootfsError(code, stderr.trim().replace(/^lxr-mount: /, '') || `lxr-mount exited ${status}`),
        );
      });
    });
  }
}

/** `\040` and friends of /proc/self/mountinfo back into characters. */
const unescapeOctal = (field: string): string =>
  field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));

/** The mount points of this mount namespace (field 5 of /proc/self/mountinfo). */
export async function mountPoints(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  const points = new Set<string>();
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field) points.add(unescapeOctal(field));
  }
  return points;
}
