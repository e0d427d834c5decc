import type { EventData, ImagePullFailureReason } from '@lxr/events';

/** The facts of one pull stream (`image-pull-<pullId>`). */
export type PullEvent =
  | { readonly type: 'ImagePullProgress'; readonly data: EventData<'ImagePullProgress'> }
  | { readonly type: 'ImagePullResolved'; readonly data: EventData<'ImagePullResolved'> }
  | { readonly type: 'ImagePulled'; readonly data: EventData<'ImagePulled'> }
  | { readonly type: 'ImagePullFailed'; readonly data: EventData<'ImagePullFailed'> };

/** Where a pull stands. */
export type PullState =
  | { readonly status: 'new' }
  | { readonly status: 'pulling' }
  | { readonly status: 'pulled'; readonly digest: string }
  | { readonly status: 'failed'; readonly reason: ImagePullFailureReason };

/** Who the pull is for: the subject every event of the stream repeats. */
export interface PullSubject {
  readonly pullId: string;
  readonly reference: string;
  readonly node: string;
  readonly containerId?: string;
}

/** What the handler asks the decider to record. */
export type PullCommand =
  | {
      readonly type: 'ReportProgress';
      readonly subject: PullSubject;
      readonly layers: EventData<'ImagePullProgress'>['layers'];
    }
  | { readonly type: 'ResolvePull'; readonly resolved: EventData<'ImagePullResolved'> }
  | { readonly type: 'CompletePull'; readonly pulled: EventData<'ImagePulled'> }
  | {
      readonly type: 'FailPull';
      readonly subject: PullSubject;
      readonly reason: ImagePullFailureReason;
      readonly code: string;
      readonly message: string;
    };

export const initialPullState: PullState = { status: 'new' };

export function evolve(state: PullState, event: PullEvent): PullState {
  switch (event.type) {
    case 'ImagePullProgress':
    case 'ImagePullResolved':
      return state.status === 'new' ? { status: 'pulling' } : state;
    case 'ImagePulled':
      return { status: 'pulled', digest: event.data.digest };
    case 'ImagePullFailed':
      return { status: 'failed', reason: event.data.reason };
    default: {
      const _never: never = event;
      return _never;
    }
  }
}

/** True once the pull has an outcome: a redelivered request then changes nothing. */
export const isFinished = (state: PullState): boolean =>
  state.status === 'pulled' || state.status === 'failed';

/** Records a pull's progress and its one outcome; anything after the outcome is a no-op. */
export function decide(command: PullCommand, state: PullState): PullEvent[] {
  if (isFinished(state)) return [];
  switch (command.type) {
    case 'ReportProgress':
      return [{ type: 'ImagePullProgress', data: { ...command.subject, layers: command.layers } }];
    case 'ResolvePull':
      return [{ type: 'ImagePullResolved', data: command.resolved }];
    case 'CompletePull':
      return [{ type: 'ImagePulled', data: command.pulled }];
    case 'FailPull':
      return [
        {
          type: 'ImagePullFailed',
          data: {
            ...command.subject,
            reason: command.reason,
            code: command.code,
            message: command.message.slice(0, 4096),
          },
        },
      ];
    default: {
      const _never: never = command;
      return _never;
    }
  }
}
