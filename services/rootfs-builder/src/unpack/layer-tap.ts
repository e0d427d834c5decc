// Sees every byte of a layer's tar before tar's Parser does: hashes it (the diffID check), counts it
// (the byte cap) and follows the tar framing to read what the Parser cannot give — PAX records as
// bytes. tar's Pax keeps no `SCHILY.xattr.*` key and decodes the records as UTF-8 chunk by chunk,
// which mangles binary xattr values (security.capability) and can split a multi-byte name.
import { createHash } from 'node:crypto';
import { Header, types } from 'tar';
import { UnpackError, UnpackErrorCode } from './errors.js';

/** What the tap read for one file system entry, in the order the Parser emits them. */
export interface TappedEntry {
  /** The entry's name: PAX `path`, GNU long name or the header's (with its ustar prefix). */
  readonly path: string;
  /** The link target: PAX `linkpath`, GNU long link or the header's. */
  readonly linkpath: string;
  /** Bytes of content that follow the header (0 for directories). */
  readonly size: number;
  /** `SCHILY.xattr.NAME` records: NAME → raw value. */
  readonly xattrs: ReadonlyMap<string, Buffer> | undefined;
  /** PAX `GNU.sparse.*` records: a sparse file, which lxr does not unpack. */
  readonly sparse: boolean;
}

/** tar's own cap on a PAX or GNU long-name entry; the Parser ignores (and lxr rejects) larger ones. */
const MAX_META = 1024 * 1024;
const XATTR = 'SCHILY.xattr.';
const META_TYPES = new Set(['x', 'g', 'L', 'K', 'N']);
const FS_TYPES: ReadonlySet<string> = types.normalFsTypes;

interface Extended {
  path?: string;
  linkpath?: string;
  size?: number;
  xattrs?: Map<string, Buffer>;
  sparse?: boolean;
}

/** `size` bytes of entry content as the tar stores them: padded to whole 512-byte blocks. */
export const padded = (size: number) => Math.ceil(size / 512) * 512;

export class LayerTap {
  readonly #hash = createHash('sha256');
  readonly #maxBytes: number;
  /** Entries the Parser has not emitted yet: a chunk's worth at most. */
  readonly pending: TappedEntry[] = [];
  #bytes = 0;
  readonly #block = Buffer.alloc(512);
  #fill = 0;
  /** Body and padding bytes of the current entry still to pass. */
  #skip = 0;
  /** The body of a PAX or long-name entry being collected. */
  #meta: { type: string; size: number; parts: Buffer[]; have: number } | undefined;
  #ex: Extended = {};
  #gex: Extended = {};
  #nullBlocks = 0;
  #ended = false;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Bytes of tar seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Feeds the next chunk; throws `ROOTFS_LAYER_TOO_LARGE` past the byte cap. */
  update(chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#bytes > this.#maxBytes) {
      throw new UnpackError(
        UnpackErrorCode.TooLarge,
        `the layer's tar is larger than the limit of ${this.#maxBytes} bytes`,
      );
    }
    this.#hash.update(chunk);
    if (!this.#ended) this.#frame(chunk);
  }

  /** `sha256:<hex>` of everything fed, trailing padding included (as the diffID is defined). */
  digest(): string {
    return `sha256:${this.#hash.digest('hex')}`;
  }

  #frame(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.#ended) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - at);
        const meta = this.#meta;
        if (meta && meta.have < meta.size) {
          const take = Math.min(n, meta.size - meta.have);
          meta.parts.push(chunk.subarray(at, at + take));
          meta.have += take;
        }
        at += n;
        this.#skip -= n;
        if (this.#skip === 0 && meta) {
          this.#meta = undefined;
          this.#extend(meta.type, Buffer.concat(meta.parts, meta.size));
        }
        continue;
      }
      const n = Math.min(512 - this.#fill, chunk.length - at);
      chunk.copy(this.#block, this.#fill, at, at + n);
      this.#fill += n;
      at += n;
      if (this.#fill === 512) {
        this.#fill = 0;
        this.#header(this.#block);
      }
    }
  }

  #header(block: Buffer): void {
    const type = String.fromCharCode(block[156]!).replace('\0', '');
    const raw = new Header(block);
    if (raw.nullBlock) {
      // Two null blocks end the archive; the Parser reads nothing after them either.
      if (++this.#nullBlocks === 2) this.#ended = true;
      return;
    }
    this.#nullBlocks = 0;
    if (FS_TYPES.has(type)) {
      // The Parser's own decoding (ustar prefix, base-256 sizes, `0` + trailing `/` = directory).
      const ex = this.#ex;
      const header = new Header(block, 0, { path: ex.path, size: ex.size }, { size: this.#gex.size });
      const size = header.size ?? 0;
      this.pending.push({
        path: ex.path ?? header.path ?? '',
        linkpath: ex.linkpath ?? header.linkpath ?? '',
        size,
        xattrs: ex.xattrs,
        sparse: ex.sparse ?? false,
      });
      this.#ex = {};
      this.#skip = padded(size);
    } else {
      const size = raw.size ?? 0;
      if (META_TYPES.has(type) && size > 0 && size <= MAX_META) {
        this.#meta = { type, size, parts: [], have: 0 };
      }
      this.#skip = padded(size);
    }
  }

  #extend(type: string, body: Buffer): void {
    switch (type) {
      case 'x':
        this.#ex = { ...this.#ex, ...parsePax(body) };
        break;
      case 'g':
        // Only a global size matters to the framing; global names and xattrs are ignored, as by tar.
        this.#gex = { ...this.#gex, ...pick(parsePax(body), 'size') };
        break;
      case 'L':
      case 'N':
        this.#ex = { ...this.#ex, path: untilNul(body) };
        break;
      case 'K':
        this.#ex = { ...this.#ex, linkpath: untilNul(body) };
        break;
    }
  }
}

function pick(ex: Extended, key: 'size'): Extended {
  return ex[key] === undefined ? {} : { [key]: ex[key] };
}

const untilNul = (bytes: Buffer): string => {
  const nul = bytes.indexOf(0);
  return bytes.toString('utf8', 0, nul < 0 ? bytes.length : nul);
};

/**
 * PAX records (`<length> <key>=<value>\n`, length in bytes) read by their lengths, so values may
 * hold any byte. Malformed records end the parse, as they make the rest unreadable.
 */
export function parsePax(body: Buffer): Extended {
  const ex: Extended = {};
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    if (space < 0 || space - at > 20) break;
    const length = Number(body.toString('latin1', at, space));
    if (!Number.isSafeInteger(length) || length <= space - at || at + length > body.length) break;
    const end = at + length - 1;
    if (body[end] !== 0x0a) break;
    const equals = body.indexOf(0x3d, space + 1);
    if (equals < 0 || equals > end) break;
    const key = body.toString('utf8', space + 1, equals);
    const value = body.subarray(equals + 1, end);
    at += length;
    if (key.startsWith(XATTR)) {
      ex.xattrs ??= new Map();
      ex.xattrs.set(key.slice(XATTR.length), Buffer.from(value));
    } else if (key.startsWith('GNU.sparse.')) {
      ex.sparse = true;
    } else if (key === 'path' || key === 'linkpath') {
      ex[key] = untilNul(value);
    } else if (key === 'size') {
      const size = Number(value.toString('latin1'));
      if (value.length > 0 && Number.isSafeInteger(size) && size >= 0) ex.size = size;
    }
  }
  return ex;
}
