import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { NetworkErrorCode } from '@lxr/events';
import { NetworkError } from './errors.js';
import { resolveHostPorts } from './host-ports.js';

describe('resolveHostPorts', () => {
  it('gives port 0 a free port and treats 0.0.0.0 as every address', async () => {
    const [any, all] = await resolveHostPorts([
      { hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' },
      { hostIp: '0.0.0.0', hostPort: 0, containerPort: 53, protocol: 'udp' },
    ]);
    assert.ok(any!.hostPort > 0);
    assert.equal(any!.hostIp, '127.0.0.1');
    assert.ok(all!.hostPort > 0);
    assert.equal('hostIp' in all!, false);
  });

  it('refuses a port a process on the host holds, naming it', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      await assert.rejects(
        resolveHostPorts([{ hostIp: '127.0.0.1', hostPort: port, containerPort: 80, protocol: 'tcp' }]),
        (e: unknown) =>
          e instanceof NetworkError &&
          e.code === NetworkErrorCode.PortInUse &&
          e.message.includes(`127.0.0.1:${port}/tcp is already in use by a process on the host`),
      );
    } finally {
      server.close();
    }
  });
});
