import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EventStore } from '@lxr/event-store';
import { containerStream, type NewEvent, networkStream } from '@lxr/events';
import type { ContainersReadModel } from './containers.read-model.js';

export interface ReadModelFixture {
  readonly store: EventStore;
  readonly readModel: ContainersReadModel;
  dispose(): Promise<void>;
}

const hexId = (prefix: string) => prefix + '0'.repeat(64 - prefix.length);

async function request(store: EventStore, id: string, name: string, extra: object = {}): Promise<void> {
  const event: NewEvent = {
    type: 'ContainerRequested',
    data: {
      containerId: id,
      name,
      image: 'img',
      node: 'n1',
      env: ['A=1'],
      labels: {},
      ide: true,
      resources: {},
      ...extra,
    },
    correlationId: id,
  };
  await store.append(containerStream(id), 'no-stream', [event]);
}

async function remove(store: EventStore, id: string, name: string): Promise<void> {
  await store.append(containerStream(id), 'exists', [
    { type: 'ContainerRemoved', data: { containerId: id, name }, correlationId: id },
  ]);
}

/** What every ContainersReadModel must do; run against the in-memory and the PostgreSQL one. */
export function containersReadModelContract(name: string, setup: () => Promise<ReadModelFixture>): void {
  describe(`ContainersReadModel contract: ${name}`, () => {
    const withFixture = (fn: (f: ReadModelFixture) => Promise<void>) => async () => {
      const f = await setup();
      try {
        await fn(f);
      } finally {
        await f.dispose();
      }
    };

    it(
      'shows a requested container after catchUp, and forgets it once removed',
      withFixture(async ({ store, readModel }) => {
        const id = hexId('a1');
        await request(store, id, 'web', { command: ['sh'], labels: { k: 'v' }, resources: { cpus: 1.5 } });
        await readModel.catchUp();
        const [c] = await readModel.list();
        assert.ok(c);
        assert.deepEqual(
          { ...c, createdAt: undefined, updatedAt: undefined, position: undefined },
          {
            id,
            name: 'web',
            image: 'img',
            node: 'n1',
            state: 'requested',
            command: ['sh'],
            env: ['A=1'],
            labels: { k: 'v' },
            ide: true,
            resources: { cpus: 1.5 },
            pid: null,
            exitCode: null,
            ports: [],
            ip: null,
            netns: null,
            createdAt: undefined,
            updatedAt: undefined,
            position: undefined,
          },
        );
        assert.ok(!Number.isNaN(Date.parse(c.createdAt)));
        assert.ok(c.position > 0);
        await remove(store, id, 'web');
        await readModel.catchUp();
        assert.deepEqual(await readModel.list({ all: true }), []);
        assert.deepEqual(await readModel.lookup(id), []);
      }),
    );

    it(
      'shows the address and namespace from NetworkReady, until NetworkReleased',
      withFixture(async ({ store, readModel }) => {
        const id = hexId('e1');
        await request(store, id, 'net');
        const data = {
          containerId: id,
          node: 'n1',
          netns: 'lxr-e10000000000',
          netnsPath: '/run/netns/lxr-e10000000000',
          ip: '10.88.0.2',
          prefixLength: 24,
          gateway: '10.88.0.1',
          mac: '02:42:0a:58:00:02',
          bridge: 'lxr0',
          hostVeth: 'lxve1000000000',
          hostsPath: '/var/lib/lxr/network/containers/x/hosts',
          resolvConfPath: '/var/lib/lxr/network/containers/x/resolv.conf',
          ports: [],
        };
        await store.append(networkStream(id), 'no-stream', [
          { type: 'NetworkReady', data, correlationId: id },
        ]);
        await readModel.catchUp();
        const [c] = await readModel.lookup(id);
        assert.deepEqual([c?.ip, c?.netns], ['10.88.0.2', 'lxr-e10000000000']);
        await store.append(networkStream(id), 1, [
          {
            type: 'NetworkReleased',
            data: { containerId: id, node: 'n1', reason: 'container-failed' },
            correlationId: id,
          },
        ]);
        await readModel.catchUp();
        const [d] = await readModel.lookup(id);
        assert.deepEqual([d?.ip, d?.netns], [null, null]);
        await remove(store, id, 'net');
        await store.append(networkStream(id), 2, [
          {
            type: 'NetworkReleased',
            data: { containerId: id, node: 'n1', reason: 'container-removed' },
            correlationId: id,
          },
        ]);
        await readModel.catchUp();
        assert.deepEqual(
          await readModel.lookup(id),
          [],
          'a late network event does not bring a removed row back',
        );
      }),
    );

    it(
      'lists newest first and filters',
      withFixture(async ({ store, readModel }) => {
        await request(store, hexId('b1'), 'one', { labels: { tier: 'web' } });
        await new Promise((r) => setTimeout(r, 5));
        await request(store, hexId('b2'), 'two_%', { labels: { tier: 'db' } });
        await readModel.catchUp();
        const names = async (f: Parameters<ContainersReadModel['list']>[0]) =>
          (await readModel.list(f)).map((c) => c.name);
        assert.deepEqual(await names({}), ['two_%', 'one']);
        assert.deepEqual(await names({ name: '_%' }), ['two_%'], 'name filter matches literally');
        assert.deepEqual(await names({ labels: [{ key: 'tier', value: 'web' }] }), ['one']);
        assert.deepEqual(await names({ labels: [{ key: 'tier' }] }), ['two_%', 'one']);
        assert.deepEqual(await names({ labels: [{ key: 'nope' }] }), []);
        assert.deepEqual(await names({ state: 'requested', node: 'n1', image: 'img' }), ['two_%', 'one']);
        assert.deepEqual(await names({ node: 'n2' }), []);
      }),
    );

    it(
      'looks up by exact id, then exact name, then id prefix',
      withFixture(async ({ store, readModel }) => {
        await request(store, hexId('c1'), 'first');
        await request(store, hexId('c2'), 'c1');
        await request(store, hexId('d3'), 'third');
        await readModel.catchUp();
        const ids = async (ref: string) => (await readModel.lookup(ref)).map((c) => c.id).sort();
        assert.deepEqual(await ids(hexId('c1')), [hexId('c1')]);
        assert.deepEqual(await ids('c1'), [hexId('c2')], 'a name beats an id prefix, as in docker');
        assert.deepEqual(await ids('c'), [hexId('c1'), hexId('c2')]);
        assert.deepEqual(await ids('d'), [hexId('d3')]);
        assert.deepEqual(await ids('third'), [hexId('d3')]);
        assert.deepEqual(await ids('nothing'), []);
        assert.deepEqual(await ids('e'), []);
      }),
    );
  });
}
