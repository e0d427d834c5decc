import type { RecordedEvent } from '@lxr/events';
import { type Static, Type } from '@sinclair/typebox';

const STEP_NAMES = ['requested', 'image', 'rootfs', 'network', 'started', 'ide'] as const;
const STATUSES = ['done', 'failed', 'pending', 'blocked', 'skipped'] as const;

/** One step of a container's creation, as the console's timeline shows it. */
export const TimelineStep = Type.Object({
  step: Type.Union(STEP_NAMES.map((s) => Type.Literal(s))),
  label: Type.String(),
  status: Type.Union(
    STATUSES.map((s) => Type.Literal(s)),
    {
      description:
        '`done`/`failed`: `event` ended the step; `pending`: under way; `blocked`: waits on a failed step; ' +
        '`skipped`: does not apply (no IDE asked for)',
    },
  ),
  event: Type.Optional(Type.String({ description: 'The event that ended the step' })),
  at: Type.Optional(Type.String({ format: 'date-time' })),
  sinceRequestedMs: Type.Optional(Type.Number({ description: 'From the request to the end of this step' })),
  durationMs: Type.Optional(
    Type.Number({
      description: 'From the end of the steps it waits for (the latest) to the end of this one',
    }),
  ),
  reason: Type.Optional(Type.Object({ code: Type.String(), message: Type.String() })),
});
export type TimelineStep = Static<typeof TimelineStep>;

export const Timeline = Type.Object({
  containerId: Type.String(),
  steps: Type.Array(TimelineStep),
  events: Type.Array(
    Type.Object({ position: Type.Integer(), type: Type.String(), at: Type.String({ format: 'date-time' }) }),
    { description: 'Every event about the container from its streams, in log order' },
  ),
});
export type Timeline = Static<typeof Timeline>;

type StepName = (typeof STEP_NAMES)[number];
type Status = (typeof STATUSES)[number];

interface StepRule {
  readonly step: StepName;
  readonly label: string;
  readonly done: string;
  readonly failed?: string;
  /** The steps that must end before this one can (the design's happy path). */
  readonly after: readonly StepName[];
}

/**
 * The creation's steps in the order the console lists them. Pull and network run in parallel after
 * the request; the root filesystem needs the image; the start needs both; the IDE the start.
 */
const RULES: readonly StepRule[] = [
  { step: 'requested', label: 'Requested', done: 'ContainerRequested', after: [] },
  {
    step: 'image',
    label: 'Image pulled',
    done: 'ImagePulled',
    failed: 'ImagePullFailed',
    after: ['requested'],
  },
  {
    step: 'rootfs',
    label: 'Root filesystem prepared',
    done: 'RootfsPrepared',
    failed: 'RootfsFailed',
    after: ['image'],
  },
  {
    step: 'network',
    label: 'Network ready',
    done: 'NetworkReady',
    failed: 'NetworkFailed',
    after: ['requested'],
  },
  {
    step: 'started',
    label: 'Started',
    done: 'ContainerStarted',
    failed: 'ContainerFailed',
    after: ['rootfs', 'network'],
  },
  { step: 'ide', label: 'IDE ready', done: 'IdeReady', failed: 'IdeFailed', after: ['started'] },
];

/**
 * A container's creation timeline from its events (any order; they are sorted by log position).
 * A step ends with its first success; a step that only failed shows its latest failure, since a
 * retry (the IDE's restart) may fail differently. Durations come from the events' timestamps.
 */
export function buildTimeline(containerId: string, events: readonly RecordedEvent[]): Timeline {
  const sorted = [...events].sort((a, b) => a.metadata.position - b.metadata.position);
  const requested = sorted.find((e) => e.type === 'ContainerRequested');
  const t0 = requested ? Date.parse(requested.metadata.timestamp) : undefined;
  const wantsIde = (requested?.data as { ide?: boolean } | undefined)?.ide !== false;
  const ended = new Map<StepName, { status: Status; ms?: number }>();
  const steps: TimelineStep[] = [];
  // RULES lists every step after the steps it waits for, so one pass sees each prerequisite first.
  for (const rule of RULES) {
    const base = { step: rule.step, label: rule.label };
    if (rule.step === 'ide' && !wantsIde) {
      ended.set(rule.step, { status: 'skipped' });
      steps.push({ ...base, status: 'skipped' });
      continue;
    }
    const prerequisites = rule.after.map((step) => ended.get(step)!);
    const done = sorted.find((e) => e.type === rule.done);
    const failed = rule.failed === undefined ? undefined : sorted.findLast((e) => e.type === rule.failed);
    const outcome = done ?? failed;
    if (!outcome) {
      const blocked = prerequisites.some((p) => p.status === 'failed' || p.status === 'blocked');
      const status: Status = blocked ? 'blocked' : 'pending';
      ended.set(rule.step, { status });
      steps.push({ ...base, status });
      continue;
    }
    const ms = Date.parse(outcome.metadata.timestamp);
    const status: Status = outcome === done ? 'done' : 'failed';
    ended.set(rule.step, { status, ms });
    const starts = prerequisites.map((p) => p.ms);
    const from = starts.every((s) => s !== undefined) && starts.length > 0 ? Math.max(...starts) : undefined;
    const data = outcome.data as { code?: unknown; message?: unknown };
    steps.push({
      ...base,
      status,
      event: outcome.type,
      at: outcome.metadata.timestamp,
      ...(t0 === undefined ? {} : { sinceRequestedMs: Math.max(0, ms - t0) }),
      ...(from === undefined ? {} : { durationMs: Math.max(0, ms - from) }),
      ...(status === 'failed'
        ? { reason: { code: String(data.code ?? 'UNKNOWN'), message: String(data.message ?? '') } }
        : {}),
    });
  }
  return {
    containerId,
    steps,
    events: sorted.map((e) => ({ position: e.metadata.position, type: e.type, at: e.metadata.timestamp })),
  };
}
