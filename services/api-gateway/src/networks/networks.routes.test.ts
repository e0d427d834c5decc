import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NETWORK_POOL_STREAM, networkNodeStream } from '@lxr/events';
import { createTestApp } from '../testing/test-app.js';

const id = (c: string) => c.repeat(64);

describe('networks routes', () => {
  it('answers an empty pool before any node leased a subnet', async () => {
    const t = await createTestApp();
    const res = await t.request({ method: 'GET', url: '/v1/networks' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { pool: null, nodes: [] });
  });

  it("shows the pool, each node's subnet and its current allocations, in address order", async () => {
    const t = await createTestApp();
    const lease = (node: string, subnet: string, gateway: string) => ({
      type: 'NodeSubnetLeased',
      data: { node, pool: '10.88.0.0/16', subnet, gateway },
      correlationId: node,
    });
    await t.store.append(NETWORK_POOL_STREAM, 'no-stream', [
      lease('n2', '10.88.0.0/24', '10.88.0.1'),
      lease('n1', '10.88.1.0/24', '10.88.1.1'),
    ]);
    const allocated = (c: string, ip: string, ports: object[] = []) => ({
      type: 'IpAllocated',
      data: { containerId: id(c), node: 'n1', name: `c${c}`, ip, ports },
      correlationId: id(c),
    });
    const port = { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' };
    await t.store.append(networkNodeStream('n1'), 'no-stream', [
      allocated('a', '10.88.1.10'),
      allocated('b', '10.88.1.2', [port]),
      allocated('c', '10.88.1.3'),
      {
        type: 'IpReleased',
        data: { containerId: id('c'), node: 'n1', ip: '10.88.1.3', reason: 'container-removed' },
        correlationId: id('c'),
      },
    ]);
    const res = await t.request({ method: 'GET', url: '/v1/networks' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), {
      pool: '10.88.0.0/16',
      nodes: [
        {
          node: 'n1',
          subnet: '10.88.1.0/24',
          gateway: '10.88.1.1',
          allocations: [
            { containerId: id('b'), name: 'cb', ip: '10.88.1.2', ports: [port] },
            { containerId: id('a'), name: 'ca', ip: '10.88.1.10', ports: [] },
          ],
        },
        { node: 'n2', subnet: '10.88.0.0/24', gateway: '10.88.0.1', allocations: [] },
      ],
    });
  });

  it('needs the token', async () => {
    const t = await createTestApp();
    const res = await t.app.inject({ method: 'GET', url: '/v1/networks' });
    assert.equal(res.statusCode, 401);
  });
});
