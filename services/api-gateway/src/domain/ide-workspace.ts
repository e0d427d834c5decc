import { createHash } from 'node:crypto';
import type { VolumeMount } from '@lxr/events';

/** Where a development container's IDE opens, and what survives the container. */
export const WORKSPACE = '/workspace';
/** docker's volume names end at 128 characters; container names may use them all. */
const MAX_VOLUME_NAME = 128;
const SUFFIX = '-workspace';

/**
 * The named volume that keeps a development container's `/workspace`: `<name>-workspace`, so the
 * IDE's work outlives the container and a new container of the same name picks it up again. A name
 * too long for the suffix keeps its start and a hash of the whole, so two names never share one.
 */
export function workspaceVolumeName(containerName: string): string {
  const plain = `${containerName}${SUFFIX}`;
  if (plain.length <= MAX_VOLUME_NAME) return plain;
  const hash = createHash('sha256').update(containerName).digest('hex').slice(0, 16);
  return `${containerName.slice(0, MAX_VOLUME_NAME - SUFFIX.length - hash.length - 1)}-${hash}${SUFFIX}`;
}

/**
 * A container's volumes with the IDE's workspace added: when the IDE is on and no `-v` targets
 * `/workspace`, the volume `<name>-workspace` goes there. It comes first, so a `-v` below
 * `/workspace` is mounted on top of it rather than hidden by it.
 */
export function withIdeWorkspace(
  containerName: string,
  ide: boolean,
  volumes: readonly VolumeMount[] | undefined,
): readonly VolumeMount[] | undefined {
  if (!ide || volumes?.some((v) => v.destination.replace(/\/+$/, '') === WORKSPACE)) return volumes;
  return [{ source: workspaceVolumeName(containerName), destination: WORKSPACE }, ...(volumes ?? [])];
}

/**
 * A development container stays up until it is stopped, like `docker run -dit`: unless the request
 * says otherwise, its main process gets a terminal and an open stdin, so an image whose command is a
 * shell (golang's `bash`, busybox's `sh`) waits for input instead of exiting at once and taking the
 * IDE down with it. Other containers keep docker's defaults.
 */
export function developmentDefaults(
  ide: boolean,
  options: { readonly tty?: boolean; readonly openStdin?: boolean },
): { tty?: boolean; openStdin?: boolean } {
  if (!ide) return {};
  return { tty: options.tty ?? true, openStdin: options.openStdin ?? true };
}
