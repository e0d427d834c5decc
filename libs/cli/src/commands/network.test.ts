import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LxrClient, NetworkInspect } from '@lxr/client';
import { runCli } from '../cli.js';
import type { CliContext } from '../context.js';

const inspect: NetworkInspect = {
  pool: '10.88.0.0/16',
  nodes: [
    {
      node: 'node1',
      subnet: '10.88.0.0/24',
      gateway: '10.88.0.1',
      allocations: [
        {
          containerId: 'ab'.repeat(32),
          name: 'web',
          ip: '10.88.0.2',
          ports: [
            { hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'tcp' },
            { hostPort: 5353, containerPort: 53, protocol: 'udp' },
          ],
        },
        { containerId: 'cd'.repeat(32), name: 'db', ip: '10.88.0.3', ports: [] },
      ],
    },
  ],
};

async function lxr(argv: string[], answer: NetworkInspect = inspect) {
  let stdout = '';
  let stderr = '';
  const client = { networks: { inspect: async () => answer } } as unknown as LxrClient;
  const ctx = {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: { LXR_HOME: '/tmp/lxr-none' },
    signal: new AbortController().signal,
    version: '0.0.0',
    now: () => new Date(),
    client: async () => client,
  } as unknown as CliContext;
  const code = await runCli(argv, ctx);
  return { code, stdout, stderr };
}

describe('lxr network', () => {
  it('inspect prints the pool, the node subnets and the allocations with their ports', async () => {
    const run = await lxr(['network', 'inspect']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      'POOL 10.88.0.0/16\n\n' +
        'NODE    SUBNET         GATEWAY     ALLOCATED\n' +
        'node1   10.88.0.0/24   10.88.0.1   2\n\n' +
        'CONTAINER ID   NAME   NODE    IP          PORTS\n' +
        'abababababab   web    node1   10.88.0.2   127.0.0.1:8080->80/tcp, 0.0.0.0:5353->53/udp\n' +
        'cdcdcdcdcdcd   db     node1   10.88.0.3   -\n',
    );
  });

  it('inspect --format json prints the document', async () => {
    const run = await lxr(['network', 'inspect', '--format', 'json']);
    assert.deepEqual(JSON.parse(run.stdout), inspect);
  });

  it('says when no node has leased a subnet yet', async () => {
    const run = await lxr(['network', 'inspect'], { pool: null, nodes: [] });
    assert.match(run.stdout, /^POOL - \(no node has leased a subnet yet\)/);
  });

  it('refuses an unknown subcommand as a usage error', async () => {
    const run = await lxr(['network', 'ls']);
    assert.equal(run.code, 125);
    assert.match(run.stderr, /unknown network command "ls"/);
  });
});
