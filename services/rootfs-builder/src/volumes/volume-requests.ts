import { isRecord, volumeRequestSubject } from '@lxr/events';
import type { ServiceContext } from '@lxr/service-kit';
import { VolumeError, VolumeErrorCode } from './errors.js';
import type { VolumeStore } from './volume-store.js';

/** The `name` of a request's payload, or a {@link VolumeError} saying what the verb needs. */
function nameOf(payload: unknown, verb: string): string {
  if (!isRecord(payload) || typeof payload['name'] !== 'string' || payload['name'] === '')
    throw new VolumeError(VolumeErrorCode.Invalid, `${verb} needs {"name": "<volume name>"}`);
  return payload['name'];
}

function labelsOf(payload: Record<string, unknown>): Record<string, string> | undefined {
  const labels = payload['labels'];
  if (labels === undefined) return undefined;
  if (!isRecord(labels) || Object.values(labels).some((v) => typeof v !== 'string'))
    throw new VolumeError(VolumeErrorCode.Invalid, 'create: "labels" must map strings to strings');
  return labels as Record<string, string>;
}

/**
 * Answers the gateway's questions about this node's volumes on `lxr.volumes.<node>.<verb>`
 * (create, list, inspect, remove, prune), the way the image-puller answers about images; a
 * {@link VolumeError}'s code reaches the gateway as the reply's error code. Drained on stop.
 */
export function serveVolumeRequests(
  ctx: Pick<ServiceContext, 'bus' | 'onStop'> & { readonly config: { readonly node: string } },
  volumes: VolumeStore,
): void {
  const subject = (verb: Parameters<typeof volumeRequestSubject>[1]) =>
    volumeRequestSubject(ctx.config.node, verb);
  const responders = [
    ctx.bus.reply(subject('create'), async (payload) => {
      const body = isRecord(payload) ? payload : {};
      const name = body['name'];
      if (name !== undefined && typeof name !== 'string')
        throw new VolumeError(VolumeErrorCode.Invalid, 'create: "name" must be a string');
      const labels = labelsOf(body);
      return volumes.create({ ...(name ? { name } : {}), ...(labels ? { labels } : {}) });
    }),
    ctx.bus.reply(subject('list'), () => volumes.list()),
    ctx.bus.reply(subject('inspect'), (payload) => volumes.inspect(nameOf(payload, 'inspect'))),
    ctx.bus.reply(subject('remove'), (payload) =>
      volumes.remove(nameOf(payload, 'remove'), { force: isRecord(payload) && payload['force'] === true }),
    ),
    ctx.bus.reply(subject('prune'), (payload) =>
      volumes.prune({ all: isRecord(payload) && payload['all'] === true }),
    ),
  ];
  ctx.onStop('volume requests', () => Promise.all(responders.map((r) => r.drain())).then(() => undefined));
}
