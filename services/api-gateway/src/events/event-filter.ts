import type { RecordedEvent } from '@lxr/events';

const HEX = /^[0-9a-f]+$/;

/** `?type=A,B` or `?type=A&type=B`; no types means every type. */
export function typeMatcher(type: string | string[] | undefined): (event: RecordedEvent) => boolean {
  if (type === undefined) return () => true;
  const types = new Set(
    (Array.isArray(type) ? type : [type])
      .flatMap((t) => t.split(','))
      .map((t) => t.trim())
      .filter(Boolean),
  );
  return types.size === 0 ? () => true : (event) => types.has(event.type);
}

/**
 * Matches the events about one container, given as id, name or id prefix: those correlated with
 * it or naming its id in their data. `knownIds` are what the read model resolves `ref` to now; a
 * container that takes the name `ref` later (or took it before being removed) is followed from
 * its `ContainerNameReserved`/`ContainerRequested` on.
 */
export function containerMatcher(
  ref: string,
  knownIds: readonly string[],
): (event: RecordedEvent) => boolean {
  const ids = new Set(knownIds);
  const isPrefix = HEX.test(ref);
  return (event) => {
    const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as {
      containerId?: unknown;
      name?: unknown;
    };
    const containerId = typeof data.containerId === 'string' ? data.containerId : undefined;
    if (containerId !== undefined && data.name === ref) ids.add(containerId);
    if (ids.has(event.metadata.correlationId)) return true;
    if (containerId === undefined) return false;
    return ids.has(containerId) || (isPrefix && containerId.startsWith(ref));
  };
}
