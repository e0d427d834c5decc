import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createInMemoryEventStore } from '@lxr/event-store';
import { NETWORK_POOL_STREAM, networkNodeStream } from '@lxr/events';
import { formatIpv4, parseCidr } from './ipv4.js';
import { leaseNodeSubnet, NodeAddresses } from './node-addresses.js';

const id = (n: number) => n.toString(16).padStart(64, '0');
const command = (n: number) => ({
  containerId: id(n),
  name: `c${n}`,
  netns: `ns${n}`,
  hostVeth: `v${n}`,
  ports: [],
});

describe('NodeAddresses', () => {
  it('gives 200 concurrent requests through two writers 200 distinct addresses, in few appends', async () => {
    const store = createInMemoryEventStore();
    let appends = 0;
    const counted = Object.assign(Object.create(store) as typeof store, {
      append: (...args: Parameters<typeof store.append>) => {
        appends++;
        return store.append(...args);
      },
    });
    const subnet = parseCidr('10.77.0.0/24')!;
    const a = new NodeAddresses(counted, 'n1', subnet);
    const b = new NodeAddresses(counted, 'n1', subnet);
    const decisions = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? a : b).allocate(command(i))),
    );
    const ips = decisions.map((d) => (d.kind === 'allocated' ? formatIpv4(d.allocation.ip) : d.code));
    assert.equal(new Set(ips).size, 200, 'distinct');
    const events = await store.readStream(networkNodeStream('n1'));
    assert.equal(events.length, 200);
    assert.ok(appends <= 10, `batched into few appends, conflicts included (${appends})`);
  });

  it('re-reads after another writer and never releases twice', async () => {
    const store = createInMemoryEventStore();
    const subnet = parseCidr('10.77.0.0/24')!;
    const a = new NodeAddresses(store, 'n1', subnet);
    const b = new NodeAddresses(store, 'n1', subnet);
    const first = await a.allocate(command(1));
    const second = await b.allocate(command(2)); // b has not read a's append: a version conflict
    assert.ok(first.kind === 'allocated' && second.kind === 'allocated');
    assert.notEqual(first.allocation.ip, second.allocation.ip);
    const [r1, r2] = await Promise.all([
      a.release(id(1), 'container-removed'),
      b.release(id(1), 'container-removed'),
    ]);
    assert.equal([r1, r2].filter(Boolean).length, 1, 'one of them released it');
    const types = (await store.readStream(networkNodeStream('n1'))).map((e) => e.type);
    assert.deepEqual(types, ['IpAllocated', 'IpAllocated', 'IpReleased']);
  });
});

describe('leaseNodeSubnet', () => {
  it('gives concurrent nodes distinct subnets and a node the same one again', async () => {
    const store = createInMemoryEventStore();
    const pool = parseCidr('10.66.0.0/16')!;
    const lease = (node: string) => leaseNodeSubnet(store, { node, pool, subnetPrefixLength: 24 }, node);
    const leases = await Promise.all(['a', 'b', 'c', 'd'].map(lease));
    assert.equal(new Set(leases.map((l) => l.subnet.base)).size, 4);
    assert.deepEqual(await lease('b'), leases[1]);
    assert.equal((await store.readStream(NETWORK_POOL_STREAM)).length, 4);
  });
});
