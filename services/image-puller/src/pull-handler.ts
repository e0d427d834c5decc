import { type EventStore, WrongExpectedVersionError } from '@lxr/event-store';
import type { EventData, LxrRecordedEvent, NewEvent } from '@lxr/events';
import { currentSchemaVersion, EventValidationError, imagePullStream, validateEventData } from '@lxr/events';
import {
  type ImagePuller,
  messageOf,
  OciError,
  type Platform,
  type PullResult,
  parsePlatform,
  pullFailureReason,
} from '@lxr/oci';
import type { ContainerUsage } from './container-usage.js';
import {
  decide,
  evolve,
  initialPullState,
  isFinished,
  type PullCommand,
  type PullEvent,
  type PullState,
  type PullSubject,
} from './pull.decider.js';

/** The logging the handler needs (pino's shape). */
export interface HandlerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** What the handler is given by main.ts. */
export interface PullHandlerDeps {
  readonly store: EventStore;
  readonly puller: ImagePuller;
  readonly usage: ContainerUsage;
  readonly node: string;
  readonly logger: HandlerLogger;
  /** Least time between two progress events of one pull; default 1 s. */
  readonly progressIntervalMs?: number;
  readonly signal?: AbortSignal;
}

interface PullJob {
  readonly subject: PullSubject;
  readonly platform: string | undefined;
  readonly policy: 'missing' | 'newer';
  readonly causationId: string;
  readonly correlationId: string;
}

/**
 * Reacts to `ContainerRequested` for this node and to `ImagePullRequested`: pulls the image and
 * records `ImagePullProgress` (throttled) and one `ImagePulled` or `ImagePullFailed` in
 * `image-pull-<pullId>`. A redelivered request whose stream already has an outcome changes nothing;
 * an image already on the node answers at once.
 */
export function createPullHandler(deps: PullHandlerDeps) {
  const interval = deps.progressIntervalMs ?? 1000;

  async function readState(stream: string): Promise<{ state: PullState; version: number }> {
    const events = await deps.store.readStream(stream);
    const state = events.reduce((s, e) => evolve(s, e as unknown as PullEvent), initialPullState);
    return { state, version: events.length === 0 ? 0 : events[events.length - 1]!.metadata.streamVersion };
  }

  /** decide → append with the expected version; on a conflict re-read and decide again. */
  async function record(job: PullJob, command: PullCommand): Promise<void> {
    const stream = imagePullStream(job.subject.pullId);
    for (let attempt = 0; ; attempt++) {
      const { state, version } = await readState(stream);
      const events = decide(command, state);
      if (events.length === 0) return;
      const toAppend: NewEvent[] = events.map((e) => ({
        type: e.type,
        data: e.data,
        correlationId: job.correlationId,
        causationId: job.causationId,
      }));
      try {
        await deps.store.append(stream, version, toAppend);
        return;
      } catch (error) {
        if (!(error instanceof WrongExpectedVersionError) || attempt >= 5) throw error;
      }
    }
  }

  async function run(job: PullJob): Promise<void> {
    const stream = imagePullStream(job.subject.pullId);
    if (isFinished((await readState(stream)).state)) return;
    let platform: Platform | undefined;
    let result: PullResult;
    // Progress events go out one at a time, the newest snapshot winning.
    let latest: EventData<'ImagePullProgress'>['layers'] | undefined;
    let sending: Promise<void> = Promise.resolve();
    let lastSent = 0;
    const flush = () => {
      sending = sending.then(async () => {
        const layers = latest;
        latest = undefined;
        if (!layers) return;
        lastSent = Date.now();
        await record(job, { type: 'ReportProgress', subject: job.subject, layers }).catch((error) =>
          deps.logger.warn({ err: error, pullId: job.subject.pullId }, 'progress event not recorded'),
        );
      });
    };
    const started = Date.now();
    try {
      platform = job.platform ? parsePlatform(job.platform) : undefined;
      result = await deps.puller.pull(job.subject.reference, {
        ...(platform ? { platform } : {}),
        policy: job.policy,
        ...(deps.signal ? { signal: deps.signal } : {}),
        progressIntervalMs: interval,
        // A container's rootfs-builder unpacks each layer as it lands (docs/ROOTFS.md, pipelining).
        ...(job.subject.containerId
          ? {
              onResolved: ({ digest, layers }) => {
                const resolved = { ...job.subject, digest, layers: [...layers] };
                sending = sending.then(() =>
                  record(job, { type: 'ResolvePull', resolved }).catch((error) =>
                    deps.logger.warn(
                      { err: error, pullId: job.subject.pullId },
                      'resolved event not recorded',
                    ),
                  ),
                );
              },
            }
          : {}),
        onProgress: (progress) => {
          if (progress.layers.every((l) => l.state === 'exists')) return;
          latest = progress.layers.map((l) => ({ digest: l.digest, size: l.size, done: l.done }));
          if (Date.now() - lastSent >= interval) flush();
        },
      });
    } catch (error) {
      await sending;
      // Shutting down is not the pull's failure: leave the request unacked, so it is redelivered
      // after the restart and resumes from the partial downloads.
      if (deps.signal?.aborted) throw error;
      const code = error instanceof OciError ? error.code : 'OCI_STORE_FAILED';
      deps.logger.warn(
        { err: error, pullId: job.subject.pullId, reference: job.subject.reference },
        'pull failed',
      );
      await record(job, {
        type: 'FailPull',
        subject: job.subject,
        reason: pullFailureReason(error),
        code,
        message: messageOf(error),
      });
      return;
    }
    await sending;
    const { image } = result;
    deps.logger.info(
      {
        pullId: job.subject.pullId,
        reference: result.reference,
        digest: image.digest,
        cached: result.cached,
        ms: Date.now() - started,
        downloadedBytes: result.downloadedBytes,
      },
      'pulled',
    );
    const pulled: EventData<'ImagePulled'> = {
      ...job.subject,
      reference: result.reference,
      digest: image.digest,
      ...(image.indexDigest ? { indexDigest: image.indexDigest } : {}),
      configDigest: image.config.digest,
      platform: image.platform,
      layers: image.layers.map((l) => ({
        digest: l.digest,
        diffId: l.diffId,
        size: l.size,
        mediaType: l.mediaType,
      })),
      config: image.runtime as EventData<'ImagePulled'>['config'],
      size: image.size,
      cached: result.cached,
    };
    // The log accepts any JSON: check the image's facts against the catalog first, so consumers never
    // dead-letter an ImagePulled (an image with, say, a 70 kB label fails here instead).
    try {
      validateEventData('ImagePulled', currentSchemaVersion('ImagePulled'), pulled);
    } catch (error) {
      await record(job, {
        type: 'FailPull',
        subject: job.subject,
        reason: 'invalid-image',
        code: error instanceof EventValidationError ? error.code : 'EVENT_MALFORMED',
        message: `image ${image.digest} cannot be described in an ImagePulled event: ${messageOf(error)}`,
      });
      return;
    }
    if (job.subject.containerId) await deps.usage.use(job.subject.containerId, image.digest);
    await record(job, { type: 'CompletePull', pulled });
  }

  return {
    /** The bus handler for container and image events. */
    async handle(event: LxrRecordedEvent): Promise<void> {
      switch (event.type) {
        case 'ContainerRequested': {
          if (event.data.node !== deps.node) return;
          const { containerId, image } = event.data;
          return run({
            subject: { pullId: containerId, reference: image, node: deps.node, containerId },
            platform: undefined,
            policy: 'missing',
            causationId: event.metadata.eventId,
            correlationId: event.metadata.correlationId,
          });
        }
        case 'ImagePullRequested': {
          if (event.data.node !== deps.node) return;
          const { pullId, reference, platform } = event.data;
          return run({
            subject: { pullId, reference, node: deps.node },
            platform,
            policy: 'newer',
            causationId: event.metadata.eventId,
            correlationId: event.metadata.correlationId,
          });
        }
        case 'ContainerRemoved':
          return deps.usage.release(event.data.containerId);
        default:
          return;
      }
    },
  };
}
