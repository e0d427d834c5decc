// Device nodes, fifos (whiteouts among them) and xattrs of a layer: Node.js has neither mknod(2) nor
// setxattr(2), so they are collected while the tar streams by and made by native/'s
// lxr-unpack-nodes in one run at the end — after every chown (which clears security.capability),
// before the directories' mtimes are set (a mknod changes its directory's mtime).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { UnpackError, UnpackErrorCode } from './errors.js';

/** Where `make -C native` puts the helper, from this file in services/rootfs-builder/dist/unpack. */
export const DEFAULT_NODES_HELPER = path.resolve(
  import.meta.dirname,
  '../../../../native/build/lxr-unpack-nodes',
);

/** The most xattr bytes a layer may carry (they wait in memory until the end of the layer). */
export const MAX_XATTR_BYTES = 64 * 1024 * 1024;

interface NodeRecord {
  readonly mode: number;
  readonly major: number;
  readonly minor: number;
  readonly uid: number;
  readonly gid: number;
  readonly mtime: Date;
}

export class NodeOps {
  readonly #nodes = new Map<string, NodeRecord>();
  readonly #xattrs = new Map<string, Map<string, Buffer>>();
  #xattrBytes = 0;

  /** A device or fifo to make at `path`; `mode` includes the file type bits. */
  node(path: string, record: NodeRecord): void {
    this.#nodes.set(path, record);
  }

  xattr(path: string, name: string, value: Buffer): void {
    this.#xattrBytes += name.length + value.length;
    if (this.#xattrBytes > MAX_XATTR_BYTES) {
      throw new UnpackError(
        UnpackErrorCode.TooLarge,
        `the layer's xattrs exceed ${MAX_XATTR_BYTES} bytes (at '${path}')`,
      );
    }
    const names = this.#xattrs.get(path) ?? new Map<string, Buffer>();
    this.#xattrs.set(path, names);
    names.set(name, value);
  }

  /** What was pending for `path` is dropped: a later entry replaced or removed it. */
  forget(path: string): void {
    if (this.#nodes.size > 0) this.#nodes.delete(path);
    if (this.#xattrs.size > 0) this.#xattrs.delete(path);
  }

  get empty(): boolean {
    return this.#nodes.size === 0 && this.#xattrs.size === 0;
  }

  /** Makes every node, then sets every xattr, beneath `root`. */
  async apply(root: string, helper: string): Promise<void> {
    if (this.empty) return;
    const parts: Buffer[] = [];
    const fields = (...values: (string | number)[]) => parts.push(Buffer.from(`${values.join('\0')}\0`));
    for (const [at, n] of this.#nodes) {
      const ms = n.mtime.getTime();
      const sec = Math.floor(ms / 1000);
      fields('node', at, n.mode, n.major, n.minor, n.uid, n.gid, sec, (ms - sec * 1000) * 1_000_000);
    }
    for (const [at, names] of this.#xattrs) {
      for (const [name, value] of names) {
        fields('xattr', at === '' ? '.' : at, name, value.length);
        parts.push(value);
      }
    }
    await runHelper(helper, root, Buffer.concat(parts));
  }
}

function runHelper(helper: string, root: string, input: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(helper, [root], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr = (stderr + text).slice(-2000);
    });
    child.stdin.on('error', () => undefined);
    child.once('error', (error) =>
      reject(
        new UnpackError(
          UnpackErrorCode.WriteFailed,
          `cannot run ${helper} (build native/ with \`make -C native\`): ${error.message}`,
          { cause: error },
        ),
      ),
    );
    child.once('close', (code, signal) => {
      const failure = stderr
        .split('\n')
        .find((line) => line.startsWith('lxr-unpack-nodes: ') && !line.includes(': skipped xattr'));
      if (code === 0) resolve();
      else
        reject(
          new UnpackError(
            UnpackErrorCode.WriteFailed,
            failure?.replace('lxr-unpack-nodes: ', '') ?? `lxr-unpack-nodes exited with ${code ?? signal}`,
          ),
        );
    });
    child.stdin.end(input);
  });
}
