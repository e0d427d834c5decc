import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imagePullStream, type RecordedEvent } from '@lxr/events';
import { createTestApp } from '../testing/test-app.js';
import { buildTimeline } from './timeline.js';

const ID = 'c'.repeat(64);
const T0 = Date.parse('2026-05-01T10:00:00.000Z');

/** An event at `ms` after T0, the `position`-th in the log. */
const at = (
  position: number,
  ms: number,
  type: string,
  data: Record<string, unknown> = {},
): RecordedEvent => ({
  type,
  schemaVersion: 1,
  data: { containerId: ID, ...data },
  metadata: {
    eventId: `e${position}`,
    stream: 'container-x',
    streamVersion: position,
    position,
    correlationId: ID,
    causationId: null,
    timestamp: new Date(T0 + ms).toISOString(),
  },
});

const summary = (events: RecordedEvent[]) =>
  buildTimeline(ID, events).steps.map((s) => [s.step, s.status, s.durationMs, s.sinceRequestedMs]);

describe('buildTimeline', () => {
  it('times each step from the end of the steps it waits for', () => {
    const events = [
      at(1, 0, 'ContainerRequested', { ide: true }),
      at(3, 40, 'NetworkReady'),
      at(2, 250, 'ImagePulled'),
      at(4, 300, 'RootfsPrepared'),
      at(5, 320, 'ContainerStarted'),
      at(6, 1520, 'IdeReady'),
    ];
    assert.deepEqual(summary(events), [
      ['requested', 'done', undefined, 0],
      ['image', 'done', 250, 250],
      ['rootfs', 'done', 50, 300],
      ['network', 'done', 40, 40],
      // The start waits for the later of rootfs (300) and network (40).
      ['started', 'done', 20, 320],
      ['ide', 'done', 1200, 1520],
    ]);
    const timeline = buildTimeline(ID, events);
    assert.deepEqual(
      timeline.events.map((e) => e.type),
      ['ContainerRequested', 'ImagePulled', 'NetworkReady', 'RootfsPrepared', 'ContainerStarted', 'IdeReady'],
    );
    assert.equal(timeline.steps[5]!.event, 'IdeReady');
    assert.equal(timeline.steps[5]!.at, '2026-05-01T10:00:01.520Z');
  });

  it('shows a failure with its reason and blocks the steps after it', () => {
    const steps = buildTimeline(ID, [
      at(1, 0, 'ContainerRequested', { ide: true }),
      at(2, 30, 'NetworkReady'),
      at(3, 90, 'ImagePullFailed', { code: 'OCI_MANIFEST_UNKNOWN', message: 'no such image: nope:latest' }),
    ]).steps;
    assert.deepEqual(
      steps.map((s) => [s.step, s.status]),
      [
        ['requested', 'done'],
        ['image', 'failed'],
        ['rootfs', 'blocked'],
        ['network', 'done'],
        ['started', 'blocked'],
        ['ide', 'blocked'],
      ],
    );
    assert.deepEqual(steps[1]!.reason, {
      code: 'OCI_MANIFEST_UNKNOWN',
      message: 'no such image: nope:latest',
    });
    assert.equal(steps[1]!.durationMs, 90);
  });

  it('counts the first success after failed retries, and skips the IDE when none was asked for', () => {
    const withRetry = buildTimeline(ID, [
      at(1, 0, 'ContainerRequested'),
      at(2, 10, 'ContainerStarted'),
      at(3, 500, 'IdeFailed', { code: 'IDE_NOT_ANSWERING', message: 'x' }),
      at(4, 900, 'IdeReady'),
      at(5, 990, 'IdeFailed', { code: 'IDE_DIED', message: 'y' }),
    ]).steps[5]!;
    assert.deepEqual([withRetry.status, withRetry.durationMs, withRetry.reason], ['done', 890, undefined]);
    const noIde = buildTimeline(ID, [at(1, 0, 'ContainerRequested', { ide: false })]).steps;
    assert.deepEqual(
      noIde.map((s) => s.status),
      ['done', 'pending', 'pending', 'pending', 'pending', 'skipped'],
    );
  });
});

describe('GET /v1/containers/:ref/timeline', () => {
  it("reads the container's streams, the pull's included", async () => {
    const t = await createTestApp();
    const created = await t.create({ image: 'busybox', name: 'web' });
    assert.equal(created.statusCode, 201);
    const { id } = created.json();
    await t.store.append(imagePullStream(id), 'any', [
      {
        type: 'ImagePullFailed',
        data: { code: 'OCI_MANIFEST_UNKNOWN', message: 'no such image' },
        correlationId: id,
      },
    ]);
    const res = await t.request({ method: 'GET', url: '/v1/containers/web/timeline' });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.equal(body.containerId, id);
    assert.deepEqual(
      body.steps.map((s: { status: string }) => s.status),
      ['done', 'failed', 'blocked', 'pending', 'blocked', 'blocked'],
    );
    assert.equal(body.steps[1].reason.message, 'no such image');
    assert.ok(body.events.some((e: { type: string }) => e.type === 'ContainerRequested'));
    const missing = await t.request({ method: 'GET', url: '/v1/containers/nope/timeline' });
    assert.equal(missing.statusCode, 404);
  });
});
