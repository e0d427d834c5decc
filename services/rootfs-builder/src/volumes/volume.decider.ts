import type { EventData, RecordedEvent, VolumeEvent } from '@lxr/events';
import { VolumeError, VolumeErrorCode } from './errors.js';

// The node's volumes as its `volume-node-<node>` stream records them: `evolve` folds the stream,
// `decide` turns a command into the events to append (none when there is nothing to do). No I/O.

/** A volume the log says exists. */
export interface VolumeRecord {
  readonly name: string;
  readonly mountpoint: string;
  readonly anonymous: boolean;
  readonly labels: Readonly<Record<string, string>>;
  /** The container whose `-v` made it. */
  readonly containerId?: string;
  /** When `VolumeCreated` was recorded. */
  readonly createdAt: string;
}

/** Every volume of the node, by name. */
export type VolumesState = ReadonlyMap<string, VolumeRecord>;
export const initialVolumesState: VolumesState = new Map();

type RecordedVolumeEvent = {
  [E in VolumeEvent as E['type']]: RecordedEvent<E['type'], E['data']>;
}[VolumeEvent['type']];

export function evolve(state: VolumesState, event: RecordedVolumeEvent): VolumesState {
  const next = new Map(state);
  switch (event.type) {
    case 'VolumeCreated': {
      const { name, mountpoint, anonymous, labels, containerId } = event.data;
      next.set(name, {
        name,
        mountpoint,
        anonymous,
        labels,
        ...(containerId === undefined ? {} : { containerId }),
        createdAt: event.metadata.timestamp,
      });
      return next;
    }
    case 'VolumeRemoved':
      next.delete(event.data.name);
      return next;
    default: {
      const _never: never = event;
      return _never;
    }
  }
}

export type VolumeCommand =
  | { readonly type: 'CreateVolume'; readonly volume: EventData<'VolumeCreated'> }
  | {
      readonly type: 'RemoveVolume';
      readonly node: string;
      readonly name: string;
      /** Containers on the node that use it: it stays while there are any. */
      readonly users: readonly string[];
      readonly reclaimedBytes: number;
    };

/**
 * Creating a volume that exists is no change (two containers naming it at once share one volume);
 * removing one refuses while a container uses it, even forced, as docker does.
 */
export function decide(command: VolumeCommand, state: VolumesState): VolumeEvent[] {
  switch (command.type) {
    case 'CreateVolume':
      return state.has(command.volume.name) ? [] : [{ type: 'VolumeCreated', data: command.volume }];
    case 'RemoveVolume': {
      const { name, users, node, reclaimedBytes } = command;
      if (!state.has(name))
        throw new VolumeError(
          VolumeErrorCode.NotFound,
          `no volume "${name}" on node ${node} (lxr volume ls lists them)`,
        );
      if (users.length > 0) {
        const more = users.length > 1 ? ` and ${users.length - 1} more` : '';
        throw new VolumeError(
          VolumeErrorCode.InUse,
          `volume "${name}" is in use by container ${users[0]!.slice(0, 12)}${more}: remove the container first (lxr rm)`,
        );
      }
      return [{ type: 'VolumeRemoved', data: { node, name, reclaimedBytes } }];
    }
    default: {
      const _never: never = command;
      return _never;
    }
  }
}
