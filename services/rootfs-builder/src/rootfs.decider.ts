import type { EventData, RootfsEvent } from '@lxr/events';

/** Where a container's root filesystem stands in its stream `rootfs-<id>`. */
export type RootfsState =
  | { readonly status: 'none' }
  | { readonly status: 'prepared'; readonly rootfsPath: string }
  | { readonly status: 'failed'; readonly code: string };

export const initialRootfsState: RootfsState = { status: 'none' };

export function evolve(state: RootfsState, event: RootfsEvent): RootfsState {
  switch (event.type) {
    case 'RootfsPrepared':
      return state.status === 'none' ? { status: 'prepared', rootfsPath: event.data.rootfsPath } : state;
    case 'RootfsFailed':
      return state.status === 'none' ? { status: 'failed', code: event.data.code } : state;
    default: {
      const _never: never = event;
      return _never;
    }
  }
}

/** What the container's own stream says, as far as its root filesystem is concerned. */
export interface ContainerFacts {
  /** `ContainerRequested` names this node. */
  readonly requestedHere: boolean;
  /** `ContainerRemoved` is recorded. */
  readonly removed: boolean;
}

/** What the host has of the container. */
export interface HostFacts {
  readonly hasDir: boolean;
  readonly mounted: boolean;
}

/** The one thing to do about a container now. */
export type RootfsStep = 'prepare' | 'remount' | 'tear-down' | 'nothing';

/**
 * Compares the log with the host: a removed container's directories go; a requested one without an
 * outcome is prepared; a prepared one whose overlay is gone (a reboot) is mounted again; a failed
 * one keeps nothing.
 */
export function nextStep(state: RootfsState, container: ContainerFacts, host: HostFacts): RootfsStep {
  if (container.removed || !container.requestedHere) return host.hasDir ? 'tear-down' : 'nothing';
  switch (state.status) {
    case 'none':
      return 'prepare';
    case 'prepared':
      return host.hasDir && !host.mounted ? 'remount' : 'nothing';
    case 'failed':
      return host.hasDir ? 'tear-down' : 'nothing';
    default: {
      const _never: never = state;
      return _never;
    }
  }
}

/** What the handler asks to record. */
export type RootfsCommand =
  | { readonly type: 'RecordPrepared'; readonly data: EventData<'RootfsPrepared'> }
  | { readonly type: 'RecordFailed'; readonly data: EventData<'RootfsFailed'> };

/** One outcome per container: anything after the first is a no-op. */
export function decide(command: RootfsCommand, state: RootfsState): RootfsEvent[] {
  if (state.status !== 'none') return [];
  switch (command.type) {
    case 'RecordPrepared':
      return [{ type: 'RootfsPrepared', data: command.data }];
    case 'RecordFailed':
      return [
        { type: 'RootfsFailed', data: { ...command.data, message: command.data.message.slice(0, 8192) } },
      ];
    default: {
      const _never: never = command;
      return _never;
    }
  }
}
