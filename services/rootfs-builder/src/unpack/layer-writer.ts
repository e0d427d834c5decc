// Writes one layer's entries into its fresh directory, in tar order, with synchronous calls: the
// order is then the tar's, every check sees the effects of the entries before it, and a small file
// costs open + write + fchown + fchmod + futimes + close with no thread-pool round trip between.
//
// Security rests on one invariant: `#index` knows every name this layer created, and each one's
// parents are directories this layer created. A path is only ever joined to the root after its
// parent was found as a directory in the index, so no component of it can be a symlink or anything
// not ours; the last component is never followed (O_EXCL|O_NOFOLLOW, lchown, lutimes, unlink).
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import type { ReadEntry } from 'tar';
import { UnpackError, UnpackErrorCode } from './errors.js';
import type { UnpackLimits } from './index.js';
import type { TappedEntry } from './layer-tap.js';
import { NodeOps } from './node-ops.js';
import { entryName, layerPath, parentOf, printable } from './paths.js';

/** What a name in the layer is. */
enum Kind {
  Dir = 1,
  File = 2,
  Symlink = 3,
  /** A device, fifo or whiteout. */
  Node = 4,
}

// libuv adds O_CLOEXEC to every open.
const OPEN_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;
/** overlayfs's name for a trusted.* xattr a layer must never bring along. */
const OVERLAY_XATTR = 'trusted.overlay.';

/** The caps of {@link UnpackLimits}, as the writer (in the unpack worker) gets them. */
export type WriterLimits = Readonly<UnpackLimits>;

export class LayerWriter {
  readonly #root: string;
  readonly #limits: WriterLimits;
  readonly #index = new Map<string, Kind>([['', Kind.Dir]]);
  /** Explicit directories' times, set last: each child written changes its directory's mtime. */
  readonly #dirTimes = new Map<string, Date>();
  readonly #ops = new NodeOps();
  #entries = 0;
  #bytes = 0;
  /** The first failure: set from inside the Parser's callbacks, thrown by the caller. */
  failure: unknown;

  constructor(root: string, limits: WriterLimits) {
    this.#root = root;
    this.#limits = limits;
  }

  get entries(): number {
    return this.#entries;
  }
  /** File content bytes written. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Handles one entry the Parser emitted; `tapped` is what the tap read for it. */
  entry(entry: ReadEntry, tapped: TappedEntry): void {
    if (++this.#entries > this.#limits.maxEntries) {
      throw new UnpackError(
        UnpackErrorCode.TooManyEntries,
        `the layer has more than ${this.#limits.maxEntries} entries (at '${printable(tapped.path)}')`,
      );
    }
    if (tapped.sparse) unsupported(tapped.path, 'a sparse file');
    const name = entryName(tapped.path, this.#limits.maxPathLength);
    const regular = entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile';
    // Only a regular file's content is read; everything else lets the Parser move on.
    if (!regular || name.kind !== 'path') entry.resume();
    if (name.kind === 'whiteout') this.#whiteout(name.path, entry);
    else if (name.kind === 'opaque') this.#opaque(name.path);
    else if (regular) this.#file(name.path, entry, tapped);
    else if (entry.type === 'Directory' || entry.type === 'GNUDumpDir')
      this.#directory(name.path, entry, tapped);
    else if (entry.type === 'SymbolicLink') this.#symlink(name.path, entry, tapped);
    else if (entry.type === 'Link') this.#hardlink(name.path, tapped);
    else if (entry.type === 'CharacterDevice' || entry.type === 'BlockDevice' || entry.type === 'FIFO') {
      this.#node(name.path, entry, tapped);
    } else unsupported(tapped.path, `a ${entry.type} entry`);
  }

  /** Makes the devices, fifos and xattrs, then sets the directories' times. */
  async finish(helper: string): Promise<void> {
    await this.#ops.apply(this.#root, helper);
    // Made 0700 so nobody sees a half-written layer; a layer without a `./` entry gets docker's 0755.
    if (!this.#dirTimes.has('')) this.#fs('', 'set the mode of', () => chmodSync(this.#root, 0o755));
    for (const [at, mtime] of this.#dirTimes) {
      this.#fs(at, 'set the times of', () => utimesSync(this.#abs(at), mtime, mtime));
    }
  }

  #file(at: string, entry: ReadEntry, tapped: TappedEntry): void {
    if (this.#bytes + tapped.size > this.#limits.maxBytes) {
      throw new UnpackError(
        UnpackErrorCode.TooLarge,
        `'${printable(tapped.path)}' (${tapped.size} bytes) takes the layer past the limit of ${this.#limits.maxBytes} bytes`,
      );
    }
    this.#replace(at, Kind.File);
    const abs = this.#abs(at);
    const fd = this.#fs(at, 'create', () => openSync(abs, OPEN_NEW, 0o600));
    this.#index.set(at, Kind.File);
    let open = true;
    const close = () => {
      if (open) closeSync(fd);
      open = false;
    };
    entry.on('data', (chunk: Buffer) => {
      if (this.failure !== undefined) {
        close();
        return;
      }
      try {
        for (let done = 0; done < chunk.length; ) done += writeSync(fd, chunk, done);
        this.#bytes += chunk.length;
      } catch (error) {
        close();
        this.failure ??= fsError(error, 'write', at);
      }
    });
    entry.on('end', () => {
      if (this.failure !== undefined) {
        close();
        return;
      }
      try {
        fchownSync(fd, entry.uid ?? 0, entry.gid ?? 0);
        // After chown, which clears setuid and setgid.
        fchmodSync(fd, mode(entry, 0o644));
        const mtime = entry.mtime ?? new Date(0);
        futimesSync(fd, entry.atime ?? mtime, mtime);
        this.#xattrs(at, tapped);
      } catch (error) {
        this.failure ??= error instanceof UnpackError ? error : fsError(error, 'finish', at);
      } finally {
        close();
      }
    });
  }

  #directory(at: string, entry: ReadEntry, tapped: TappedEntry): void {
    if (this.#index.get(at) !== Kind.Dir) {
      this.#replace(at, Kind.Dir);
      this.#fs(at, 'create directory', () => mkdirSync(this.#abs(at), 0o700));
      this.#index.set(at, Kind.Dir);
    }
    const abs = this.#abs(at);
    this.#fs(at, 'set the owner and mode of', () => {
      chownSync(abs, entry.uid ?? 0, entry.gid ?? 0);
      chmodSync(abs, mode(entry, 0o755));
    });
    this.#dirTimes.set(at, entry.mtime ?? new Date(0));
    this.#xattrs(at, tapped);
  }

  #symlink(at: string, entry: ReadEntry, tapped: TappedEntry): void {
    if (Buffer.byteLength(tapped.linkpath) > this.#limits.maxPathLength) {
      throw new UnpackError(
        UnpackErrorCode.PathTooLong,
        `the target of symlink '${printable(tapped.path)}' is longer than ${this.#limits.maxPathLength} bytes`,
      );
    }
    this.#replace(at, Kind.Symlink);
    const abs = this.#abs(at);
    // Its target is only text: never resolved, so it may point anywhere without harm.
    this.#fs(at, 'create symlink', () => symlinkSync(tapped.linkpath, abs));
    this.#index.set(at, Kind.Symlink);
    const mtime = entry.mtime ?? new Date(0);
    this.#fs(at, 'set the owner and times of', () => {
      lchownSync(abs, entry.uid ?? 0, entry.gid ?? 0);
      lutimesSync(abs, entry.atime ?? mtime, mtime);
    });
    this.#xattrs(at, tapped);
  }

  #hardlink(at: string, tapped: TappedEntry): void {
    const target = layerPath(tapped.linkpath, this.#limits.maxPathLength, 'hardlink target');
    const kind = this.#index.get(target);
    if (kind !== Kind.File) {
      throw new UnpackError(
        UnpackErrorCode.UnsafeLink,
        `hardlink '${printable(tapped.path)}' → '${printable(tapped.linkpath)}': ${
          kind === undefined ? 'no such file earlier in this layer' : 'not a regular file'
        }`,
      );
    }
    if (target === at) return;
    this.#replace(at, Kind.File);
    this.#fs(at, 'create hardlink', () => linkSync(this.#abs(target), this.#abs(at)));
    this.#index.set(at, Kind.File);
    this.#xattrs(at, tapped);
  }

  #node(at: string, entry: ReadEntry, tapped: TappedEntry): void {
    const type =
      entry.type === 'CharacterDevice' ? S_IFCHR : entry.type === 'BlockDevice' ? S_IFBLK : S_IFIFO;
    this.#replace(at, Kind.Node);
    this.#placeholder(at);
    this.#ops.node(at, {
      mode: type | mode(entry, 0o644),
      major: entry.header.devmaj,
      minor: entry.header.devmin,
      uid: entry.uid ?? 0,
      gid: entry.gid ?? 0,
      mtime: entry.mtime ?? new Date(0),
    });
    this.#xattrs(at, tapped);
  }

  /**
   * An empty file where a node will be made at the end, so the disk always holds what the index
   * says: a later entry replacing it, or its directory, removes it like any file.
   */
  #placeholder(at: string): void {
    this.#fs(at, 'create', () => closeSync(openSync(this.#abs(at), OPEN_NEW, 0o600)));
    this.#index.set(at, Kind.Node);
  }

  /** `.wh.NAME`: overlayfs's whiteout, a 0/0 character device named NAME. */
  #whiteout(at: string, entry: ReadEntry): void {
    // The OCI spec: a whiteout hides what the layers below have, never what its own layer has.
    if (this.#index.has(at)) return;
    this.#parent(at);
    this.#claim(at);
    this.#placeholder(at);
    this.#ops.node(at, {
      mode: S_IFCHR,
      major: 0,
      minor: 0,
      uid: 0,
      gid: 0,
      mtime: entry.mtime ?? new Date(0),
    });
  }

  /** `.wh..wh..opq`: overlayfs's opaque directory, an xattr on the directory. */
  #opaque(at: string): void {
    const kind = this.#index.get(at);
    if (kind === undefined) {
      this.#parent(at);
      this.#claim(at);
      this.#fs(at, 'create directory', () => mkdirSync(this.#abs(at), 0o755));
      this.#index.set(at, Kind.Dir);
    } else if (kind !== Kind.Dir) {
      throw new UnpackError(
        UnpackErrorCode.InvalidWhiteout,
        `opaque marker in '${printable(at)}', which is not a directory in this layer`,
      );
    }
    this.#ops.xattr(at, 'trusted.overlay.opaque', Buffer.from('y'));
  }

  #xattrs(at: string, tapped: TappedEntry): void {
    if (!tapped.xattrs) return;
    for (const [name, value] of tapped.xattrs) {
      if (name.startsWith(OVERLAY_XATTR)) {
        throw new UnpackError(
          UnpackErrorCode.ForbiddenXattr,
          `'${printable(tapped.path)}' carries the xattr ${printable(name)}: a layer may not forge overlayfs metadata`,
        );
      }
      this.#ops.xattr(at, name, value);
    }
  }

  /**
   * Makes room for a new `kind` at `at`: its parents exist as directories of this layer, and
   * whatever the layer had at `at` is gone (tar's semantics), except a directory a directory
   * replaces, which stays with its contents.
   */
  #replace(at: string, kind: Kind): void {
    if (at === '') {
      if (kind === Kind.Dir) return;
      throw new UnpackError(UnpackErrorCode.UnsafePath, 'the layer root can only be a directory');
    }
    this.#parent(at);
    const existing = this.#index.get(at);
    if (existing === undefined) this.#claim(at);
    else if (existing !== Kind.Dir || kind !== Kind.Dir) this.#remove(at, existing);
  }

  /** Makes sure `at`'s parent is a directory of this layer, creating missing ones as tar does. */
  #parent(at: string): void {
    const parent = parentOf(at);
    const kind = this.#index.get(parent);
    if (kind === Kind.Dir) return;
    if (kind !== undefined) {
      throw new UnpackError(
        UnpackErrorCode.UnsafePath,
        `'${printable(at)}' goes through '${printable(parent)}', which is ${kind === Kind.Symlink ? 'a symlink' : 'not a directory'}`,
      );
    }
    this.#parent(parent);
    this.#claim(parent);
    this.#fs(parent, 'create directory', () => mkdirSync(this.#abs(parent), 0o755));
    this.#index.set(parent, Kind.Dir);
  }

  /** Counts a new name against the index's bound. */
  #claim(at: string): void {
    if (this.#index.size >= this.#limits.maxEntries) {
      throw new UnpackError(
        UnpackErrorCode.TooManyEntries,
        `the layer has more than ${this.#limits.maxEntries} names (at '${printable(at)}')`,
      );
    }
  }

  #remove(at: string, kind: Kind): void {
    if (kind === Kind.Dir) {
      for (const child of readdirSync(this.#abs(at), { withFileTypes: true })) {
        const path = `${at}/${child.name}`;
        this.#remove(path, this.#index.get(path) ?? (child.isDirectory() ? Kind.Dir : Kind.File));
      }
      this.#fs(at, 'remove', () => rmdirSync(this.#abs(at)));
      this.#dirTimes.delete(at);
    } else {
      this.#fs(at, 'remove', () => unlinkSync(this.#abs(at)));
    }
    this.#index.delete(at);
    this.#ops.forget(at);
  }

  #abs(at: string): string {
    return at === '' ? this.#root : `${this.#root}/${at}`;
  }

  #fs<T>(at: string, what: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw fsError(error, what, at);
    }
  }
}

function mode(entry: ReadEntry, fallback: number): number {
  return (entry.mode ?? fallback) & 0o7777;
}

function unsupported(name: string, what: string): never {
  throw new UnpackError(
    UnpackErrorCode.UnsupportedEntry,
    `'${printable(name)}' is ${what}, which lxr does not unpack`,
  );
}

function fsError(error: unknown, what: string, at: string): UnpackError {
  const message = error instanceof Error ? error.message : String(error);
  return new UnpackError(UnpackErrorCode.WriteFailed, `cannot ${what} '${printable(at)}': ${message}`, {
    cause: error,
  });
}
