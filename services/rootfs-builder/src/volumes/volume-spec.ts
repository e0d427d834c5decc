import { createHash } from 'node:crypto';
import { type RootfsMount, type VolumeMount, volumeMountProblem } from '@lxr/events';
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

/**
 * The anonymous volume of a container's `-v /path`: 64 hex characters like docker's random names,
 * but derived from the container and the path, so preparing the same container twice (a redelivered
 * event) finds the same volume instead of making another.
 */
export function anonymousVolumeName(containerId: string, destination: string): string {
  return createHash('sha256').update(`${containerId}\0${destination}`).digest('hex');
}

/**
 * Classifies a container's volumes after checking them as the gateway did ({@link volumeMountProblem}:
 * bad destinations, duplicates, unnormalised host paths, the host's `/`). Throws a
 * {@link VolumeError} naming the `-v` at fault.
 */
export function planMounts(containerId: string, volumes: readonly VolumeMount[]): PlannedMount[] {
  const problem = volumeMountProblem(volumes);
  if (problem) throw new VolumeError(VolumeErrorCode.Invalid, problem.message);
  return volumes.map(({ source, destination, readOnly = false }): PlannedMount => {
    if (source === undefined)
      return {
        kind: 'volume',
        name: anonymousVolumeName(containerId, destination),
        anonymous: true,
        destination,
        readOnly,
      };
    if (source.startsWith('/')) return { kind: 'bind', hostPath: source, destination, readOnly };
    return { kind: 'volume', name: source, anonymous: false, destination, readOnly };
  });
}

/** The OCI mount of a host directory (a volume's `_data` or a bind source), as docker makes it. */
export function bindMount(source: string, destination: string, readOnly: boolean): RootfsMount {
  return { destination, type: 'bind', source, options: ['rbind', 'rprivate', ...(readOnly ? ['ro'] : [])] };
}
