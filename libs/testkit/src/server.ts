import { rm } from 'node:fs/promises';
import type { ManagedProcess } from './process.js';

/** A server process on a loopback port, with its data in a temp dir of its own. */
export interface TestServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Stops the server, keeping its data. */
  stop(): Promise<void>;
  /** Kills the server with SIGKILL, keeping its data. */
  kill(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Stops it and removes its temp dir. */
  dispose(): Promise<void>;
}

/**
 * Starts a {@link TestServer}: `launch` starts the process (again on each `start()`), `ready` resolves
 * once it serves.
 */
export async function startServer(
  address: Pick<TestServer, 'url' | 'port' | 'dir'>,
  launch: () => ManagedProcess,
  ready: (proc: ManagedProcess) => Promise<void>,
): Promise<TestServer> {
  let proc: ManagedProcess | undefined;
  const server: TestServer = {
    ...address,
    async start() {
      proc = launch();
      await ready(proc);
    },
    async stop() {
      await proc?.stop();
    },
    async kill() {
      await proc?.kill();
    },
    async dispose() {
      await proc?.stop();
      await rm(address.dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
