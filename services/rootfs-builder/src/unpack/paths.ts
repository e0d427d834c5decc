// Entry names of a layer tar, checked and normalised before anything touches the disk.
import { UnpackError, UnpackErrorCode } from './errors.js';

/** Linux's NAME_MAX: the longest single path component. */
const NAME_MAX = 255;
const WHITEOUT = '.wh.';
const OPAQUE = '.wh..wh..opq';

/**
 * What a tar entry's name means in the layer. Paths are relative to the layer root, without a
 * leading or trailing `/`; `''` is the root itself.
 */
export type EntryName =
  | { readonly kind: 'path'; readonly path: string }
  /** `dir/.wh.NAME`: `path` (= `dir/NAME`) is deleted from the layers below. */
  | { readonly kind: 'whiteout'; readonly path: string }
  /** `dir/.wh..wh..opq`: `dir` hides everything the layers below have in it. */
  | { readonly kind: 'opaque'; readonly path: string };

/**
 * The layer-relative path of a tar name. A leading `/` is dropped (an absolute name is inside the
 * layer, as docker and GNU tar treat it), `.` and empty components go, and `..` is resolved
 * lexically — never through the file system, so a symlink cannot redirect it. A `..` above the root
 * is rejected rather than clamped: no honest layer has one.
 */
export function layerPath(raw: string, maxPathLength: number, what = 'path'): string {
  return normalise(components(raw, maxPathLength, what), raw, what);
}

/** {@link layerPath}, then the OCI whiteout conventions of the last component. */
export function entryName(raw: string, maxPathLength: number): EntryName {
  const parts = components(raw, maxPathLength, 'path');
  for (let i = 0; i < parts.length - 1; i++) {
    if (parts[i]!.startsWith(WHITEOUT)) invalidWhiteout(raw, 'a whiteout cannot be a directory');
  }
  const last = parts.at(-1);
  if (last === undefined || !last.startsWith(WHITEOUT)) {
    return { kind: 'path', path: normalise(parts, raw, 'path') };
  }
  const dir = normalise(parts.slice(0, -1), raw, 'path');
  if (last === OPAQUE) return { kind: 'opaque', path: dir };
  const hidden = last.slice(WHITEOUT.length);
  if (hidden === '' || hidden === '.' || hidden === '..') {
    invalidWhiteout(raw, `'${last}' names no file`);
  }
  if (hidden.startsWith(WHITEOUT)) invalidWhiteout(raw, `'${last}' uses the reserved prefix .wh..wh.`);
  return { kind: 'whiteout', path: dir === '' ? hidden : `${dir}/${hidden}` };
}

/** The parent of a layer path (`''` for a top-level name). */
export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

function components(raw: string, maxPathLength: number, what: string): string[] {
  if (Buffer.byteLength(raw) > maxPathLength) {
    throw new UnpackError(
      UnpackErrorCode.PathTooLong,
      `${what} '${printable(raw.slice(0, 80))}…' is longer than ${maxPathLength} bytes`,
    );
  }
  if (raw.includes('\0')) {
    throw new UnpackError(UnpackErrorCode.UnsafePath, `${what} '${printable(raw)}' contains a NUL byte`);
  }
  const parts = raw.split('/').filter((part) => part !== '' && part !== '.');
  for (const part of parts) {
    if (Buffer.byteLength(part) > NAME_MAX) {
      throw new UnpackError(
        UnpackErrorCode.PathTooLong,
        `${what} '${printable(raw)}' has a component longer than ${NAME_MAX} bytes`,
      );
    }
  }
  return parts;
}

function normalise(parts: readonly string[], raw: string, what: string): string {
  const out: string[] = [];
  for (const part of parts) {
    if (part !== '..') out.push(part);
    else if (out.pop() === undefined) {
      throw new UnpackError(UnpackErrorCode.UnsafePath, `${what} '${printable(raw)}' leaves the layer`);
    }
  }
  return out.join('/');
}

function invalidWhiteout(raw: string, why: string): never {
  throw new UnpackError(UnpackErrorCode.InvalidWhiteout, `invalid whiteout '${printable(raw)}': ${why}`);
}

/** A name as it can be shown in a message: control characters escaped, at most 200 characters. */
export function printable(name: string): string {
  let escaped = '';
  for (const c of name.length > 200 ? name.slice(0, 201) : name) {
    const code = c.charCodeAt(0);
    escaped += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : c;
  }
  return escaped.length > 200 ? `${escaped.slice(0, 200)}…` : escaped;
}
