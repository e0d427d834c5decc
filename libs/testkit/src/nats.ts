import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from './ports.js';
import { type ManagedProcess, startProcess } from './process.js';

/** A real nats-server with JetStream (file storage) in a temp dir, on a free loopback port. */
export interface NatsServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Stops the server, keeping its JetStream data. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL, keeping its data. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its temp dir. */
  dispose(): Promise<void>;
}

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
  let proc: ManagedProcess | undefined;
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    dir,
    async start() {
      proc = startProcess('nats-server', ['-c', config], path.join(dir, 'nats.log'));
      await waitForPort(port);
    },
    async stop() {
      await proc?.stop();
    },
    async kill() {
      await proc?.kill();
    },
    async dispose() {
      await proc?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
