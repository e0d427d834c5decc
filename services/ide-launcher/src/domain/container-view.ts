import type { EventData, RecordedEvent } from '@lxr/events';

/** What the ide-launcher needs to know of a container, folded from its `container-<id>` stream. */
export interface ContainerView {
  readonly name: string;
  readonly node: string;
  readonly ide: boolean;
  /** The `attempt` of the start that is running now; null when it is not running. */
  readonly runningAttempt: number | null;
  /** The container's init on the node, while it runs. */
  readonly pid: number | null;
  readonly removed: boolean;
}

/** Folds a container's stream; undefined before its `ContainerRequested`. */
export function containerView(events: readonly RecordedEvent[]): ContainerView | undefined {
  let view: ContainerView | undefined;
  for (const event of events) {
    switch (event.type) {
      case 'ContainerRequested': {
        const data = event.data as EventData<'ContainerRequested'>;
        view = {
          name: data.name,
          node: data.node,
          ide: data.ide,
          runningAttempt: null,
          pid: null,
          removed: false,
        };
        break;
      }
      case 'ContainerStarted': {
        const data = event.data as EventData<'ContainerStarted'>;
        if (view) view = { ...view, runningAttempt: data.attempt, pid: data.pid };
        break;
      }
      case 'ContainerExited':
      case 'ContainerFailed':
        if (view) view = { ...view, runningAttempt: null, pid: null };
        break;
      case 'ContainerRemoved':
        if (view) view = { ...view, runningAttempt: null, pid: null, removed: true };
        break;
      default:
        break;
    }
  }
  return view;
}

/** True when code-server should run in this container on `node`: an IDE container, running there. */
export const wantsIde = (view: ContainerView | undefined, node: string): boolean =>
  view?.ide === true && view.node === node && view.runningAttempt !== null && !view.removed;

/** Delay before launching again after `failures` launches in a row ended: 0.5 s, doubling, at most 30 s. */
export const relaunchDelayMs = (failures: number): number =>
  failures <= 0 ? 0 : Math.min(500 * 2 ** (failures - 1), 30_000);
