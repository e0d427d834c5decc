import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';
import { startProcess } from './process.js';
import { startServer, type TestServer } from './server.js';

/** A real nats-server with JetStream (file storage) in a temp dir, on a free loopback port. */
export interface NatsServer extends TestServer {}

export async function startNats(): Promise<NatsServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lxr-nats-'));
  const port = await freePort();
  const config = path.join(dir, 'nats.conf');
  await writeFile(
    config,
    [
      `listen: 127.0.0.1:${port}`,
      `jetstream { store_dir: "${path.join(dir, 'js')}", max_memory_store: 256MB, max_file_store: 2GB }`,
      'max_payload: 8MB',
      '',
    ].join('\n'),
  );
  return startServer(
    { url: `nats://127.0.0.1:${port}`, port, dir },
    () => startProcess('nats-server', ['-c', config], path.join(dir, 'nats.log')),
    () => waitForPort(port),
  );
}
