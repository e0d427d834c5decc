import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { EventBus, Subscription } from '@lxr/bus';
import type { EventStore } from '@lxr/event-store';
import { type EventData, rootfsStream } from '@lxr/events';
import { busyboxApplets, busyboxRootfs } from '@lxr/testkit';

const run = promisify(execFile);

/** A running stand-in; `stop` unmounts and removes every root filesystem it made. */
export interface RootfsStandIn {
  stop(): Promise<void>;
}

/**
 * Stands in for the rootfs-builder (issue 4, not written yet) in end-to-end tests and benchmarks:
 * on `ImagePulled` for a container of `node` it mounts an overlay over one busybox tree (the test
 * image's contents) and appends `RootfsPrepared`, exactly the contract the executor reads; on
 * `ContainerRemoved` it unmounts it.
 */
export async function startRootfsStandIn(options: {
  readonly bus: EventBus;
  readonly store: EventStore;
  readonly node: string;
  readonly dir: string;
}): Promise<RootfsStandIn> {
  const { bus, store, node, dir } = options;
  const lower = path.join(dir, 'lower');
  await busyboxRootfs(lower, busyboxApplets());
  for (const d of ['proc', 'sys', 'dev', 'tmp', 'root', 'run'])
    await mkdir(path.join(lower, d), { recursive: true });
  await writeFile(
    path.join(lower, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
  );
  const mounted = new Set<string>();
  const unmount = async (id: string) => {
    const base = path.join(dir, id);
    await run('umount', ['-l', path.join(base, 'rootfs')]).catch(() => undefined);
    await rm(base, { recursive: true, force: true });
    mounted.delete(id);
  };
  const durable = `rootfs-stand-in-${node.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const subscription: Subscription = await bus.subscribe({
    durable,
    concurrency: 8,
    async handler(event) {
      if (event.type === 'ContainerRemoved') {
        if (mounted.has(event.data.containerId)) await unmount(event.data.containerId);
        return;
      }
      if (event.type !== 'ImagePulled') return;
      const data = event.data as EventData<'ImagePulled'>;
      if (data.node !== node || !data.containerId) return;
      const id = data.containerId;
      const stream = rootfsStream(id);
      if ((await store.streamVersion(stream)) > 0) return;
      const base = path.join(dir, id);
      const rootfs = path.join(base, 'rootfs');
      await Promise.all(
        ['rootfs', 'upper', 'work'].map((d) => mkdir(path.join(base, d), { recursive: true })),
      );
      await run('mount', [
        '-t',
        'overlay',
        'overlay',
        '-o',
        `lowerdir=${lower},upperdir=${path.join(base, 'upper')},workdir=${path.join(base, 'work')}`,
        rootfs,
      ]);
      mounted.add(id);
      await store.append(stream, 'no-stream', [
        {
          type: 'RootfsPrepared',
          correlationId: id,
          data: { containerId: id, node, rootfsPath: rootfs, mounts: [] },
        },
      ]);
    },
  });
  return {
    async stop() {
      await subscription.drain();
      for (const id of [...mounted]) await unmount(id);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
