import type { VolumePruneResult, VolumeSummary } from '@lxr/events';

/** A volume on a node, as `GET /v1/volumes` lists it. */
export type NodeVolume = VolumeSummary & { readonly node: string };
/** What `DELETE /v1/volumes/{name}` or `POST /v1/volumes/prune` removed on one node. */
export type NodeVolumeRemoval = VolumePruneResult & { readonly node: string };

/** The body of `POST /v1/volumes`. */
export interface CreateVolumeRequest {
  /** docker's grammar; a random 64-hex name when absent. */
  readonly name?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** The node to make it on; the first alive one whose rootfs-builder runs by default. */
  readonly node?: string;
}
