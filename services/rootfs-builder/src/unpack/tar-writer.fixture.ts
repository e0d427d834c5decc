// A tiny ustar + PAX writer for tests: it writes what the tar package refuses to (`..` names,
// absolute paths, forged whiteouts, binary xattrs), and streams, so a million-entry layer or a
// gigabyte of zeros is never held in memory.
import { Readable } from 'node:stream';

export interface TarEntry {
  readonly path: string;
  /** ustar typeflag: '0' file, '1' hardlink, '2' symlink, '3' char, '4' block, '5' dir, '6' fifo… */
  readonly type?: string;
  readonly body?: Buffer | string;
  /** Content of `size` zero bytes, streamed (instead of `body`). */
  readonly zeros?: number;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
  /** Seconds since the epoch. */
  readonly mtime?: number;
  readonly linkpath?: string;
  readonly devmajor?: number;
  readonly devminor?: number;
  /** PAX records written before the entry (`path`/`linkpath` are added when the names are long). */
  readonly pax?: Readonly<Record<string, string | Buffer>>;
}

const ZERO_MIB = Buffer.alloc(1024 * 1024);

function octal(buf: Buffer, at: number, width: number, value: number): void {
  buf.write(`${value.toString(8).padStart(width - 1, '0')}\0`, at, width, 'latin1');
}

function header(
  entry: Omit<TarEntry, 'path'>,
  path: string,
  linkpath: string,
  type: string,
  size: number,
): Buffer {
  const block = Buffer.alloc(512);
  block.write(path, 0, 100, 'utf8');
  octal(block, 100, 8, entry.mode ?? (type === '5' ? 0o755 : 0o644));
  octal(block, 108, 8, entry.uid ?? 0);
  octal(block, 116, 8, entry.gid ?? 0);
  octal(block, 124, 12, size);
  octal(block, 136, 12, entry.mtime ?? 1_700_000_000);
  block.write('        ', 148, 8, 'latin1');
  block.write(type, 156, 1, 'latin1');
  block.write(linkpath, 157, 100, 'utf8');
  block.write('ustar\u000000', 257, 8, 'latin1');
  octal(block, 329, 8, entry.devmajor ?? 0);
  octal(block, 337, 8, entry.devminor ?? 0);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
  return block;
}

function paxRecord(key: string, value: string | Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), Buffer.from(value), Buffer.from('\n')]);
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length++;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

function* padded(body: Buffer): Generator<Buffer> {
  yield body;
  if (body.length % 512) yield Buffer.alloc(512 - (body.length % 512));
}

/** The blocks of a tar of `entries`, ending with the two null blocks. */
export function* tarBlocks(entries: Iterable<TarEntry>): Generator<Buffer> {
  for (const entry of entries) {
    const type = entry.type ?? '0';
    const body = typeof entry.body === 'string' ? Buffer.from(entry.body) : entry.body;
    const size = entry.zeros ?? body?.length ?? 0;
    const linkpath = entry.linkpath ?? '';
    const records = Object.entries(entry.pax ?? {});
    if (Buffer.byteLength(entry.path) > 100) records.push(['path', entry.path]);
    if (Buffer.byteLength(linkpath) > 100) records.push(['linkpath', linkpath]);
    if (records.length > 0) {
      const pax = Buffer.concat(records.map(([key, value]) => paxRecord(key, value)));
      yield header({}, 'PaxHeader', '', 'x', pax.length);
      yield* padded(pax);
    }
    yield header(entry, entry.path.slice(0, 100), linkpath.slice(0, 100), type, size);
    if (body) yield* padded(body);
    else if (entry.zeros) {
      for (let left = entry.zeros; left > 0; left -= ZERO_MIB.length) {
        yield left >= ZERO_MIB.length ? ZERO_MIB : ZERO_MIB.subarray(0, Math.ceil(left / 512) * 512);
      }
    }
  }
  yield Buffer.alloc(1024);
}

/** The tar as one buffer, for small ones. */
export function tarBuffer(entries: Iterable<TarEntry>): Buffer {
  return Buffer.concat([...tarBlocks(entries)]);
}

/** The tar as a stream, generated as it is read. */
export function tarStream(entries: Iterable<TarEntry>): Readable {
  return Readable.from(tarBlocks(entries), { objectMode: false });
}
