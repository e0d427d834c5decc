import { createHash } from 'node:crypto';
import path from 'node:path';
import { type RootfsMount, VOLUME_NAME_PATTERN, type VolumeMount } from '@lxr/events';
import { VolumeError, VolumeErrorCode } from './errors.js';

// What a container's `-v` list means, decided without touching the disk: which entries are host
// directories, named volumes or anonymous ones, and whether the list is acceptable at all.

/** One `-v`, classified. */
export type PlannedMount =
  | {
      readonly kind: 'bind';
      readonly hostPath: string;
      readonly destination: string;
      readonly readOnly: boolean;
    }
  | {
      readonly kind: 'volume';
      readonly name: string;
      readonly anonymous: boolean;
      readonly destination: string;
      readonly readOnly: boolean;
    };

const VOLUME_NAME = new RegExp(VOLUME_NAME_PATTERN);
/**
 * Kernel filesystems the runtime mounts and masks: a volume over them would undo the masking
 * (`/proc/kcore`, `/sys/firmware`) that keeps the host's secrets out of the container.
 */
const RESERVED = ['/proc', '/sys'];

/** True for a name of docker's volume grammar. */
export const isVolumeName = (name: string): boolean => VOLUME_NAME.test(name);

/** `/a/b`, never `/a/./b`, `/a//b`, `/a/../b` or `/a/b/`. */
const isNormalisedAbsolute = (p: string): boolean =>
  p.startsWith('/') && path.posix.normalize(p) === p && (p === '/' || !p.endsWith('/'));

/**
 * The anonymous volume of a container's `-v /path`: 64 hex characters like docker's random names,
 * but derived from the container and the path, so preparing the same container twice (a redelivered
 * event) finds the same volume instead of making another.
 */
export function anonymousVolumeName(containerId: string, destination: string): string {
  return createHash('sha256').update(`${containerId}\0${destination}`).digest('hex');
}

/**
 * Classifies and checks a container's volumes, as docker does: destinations absolute, normalised, not
 * `/` and each at most once; host paths absolute and normalised; names of docker's grammar. The host's
 * `/` is refused as a source: lxr's containers run as root without a user namespace, so its root
 * bound in (even read-only: it would expose every secret on the host) is the host handed over.
 * Throws a {@link VolumeError} naming the `-v` at fault.
 */
export function planMounts(containerId: string, volumes: readonly VolumeMount[]): PlannedMount[] {
  const seen = new Set<string>();
  return volumes.map((volume) => {
    const { source, destination } = volume;
    const spec = `-v ${source === undefined ? '' : `${source}:`}${destination}${volume.readOnly ? ':ro' : ''}`;
    const invalid = (why: string) =>
      new VolumeError(VolumeErrorCode.Invalid, `invalid volume "${spec}": ${why}`);
    if (!isNormalisedAbsolute(destination))
      throw invalid(
        'the container path must be absolute and normalised (no ".", "..", "//" or trailing "/")',
      );
    if (destination === '/') throw invalid("a volume cannot replace the container's root");
    if (RESERVED.some((r) => destination === r || destination.startsWith(`${r}/`)))
      throw invalid(`${destination} belongs to the kernel filesystems the runtime mounts`);
    if (seen.has(destination)) throw invalid(`another volume is already mounted at ${destination}`);
    seen.add(destination);
    const readOnly = volume.readOnly === true;
    if (source === undefined)
      return {
        kind: 'volume',
        name: anonymousVolumeName(containerId, destination),
        anonymous: true,
        destination,
        readOnly,
      };
    if (source.startsWith('/')) {
      if (!isNormalisedAbsolute(source))
        throw invalid('the host path must be normalised (no ".", "..", "//" or trailing "/")');
      if (source === '/') throw invalid("binding the host's root into a container hands it the host");
      return { kind: 'bind', hostPath: source, destination, readOnly };
    }
    if (!isVolumeName(source))
      throw invalid(
        `"${source}" is neither an absolute host path nor a volume name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)`,
      );
    return { kind: 'volume', name: source, anonymous: false, destination, readOnly };
  });
}

/** The OCI mount of a host directory (a volume's `_data` or a bind source), as docker makes it. */
export function bindMount(source: string, destination: string, readOnly: boolean): RootfsMount {
  return { destination, type: 'bind', source, options: ['rbind', 'rprivate', ...(readOnly ? ['ro'] : [])] };
}
