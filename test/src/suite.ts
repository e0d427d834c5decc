import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { createClient, type LxrClient, readToken } from '@lxr/client';
import { COMPOSE_PORT_VARIABLES } from '@lxr/docker-free-compose';
import { testNetworkEnv } from '@lxr/network-allocator/testing';
import {
  busyboxApplets,
  busyboxRootfs,
  freePort,
  layerFrom,
  makeImage,
  pushImage,
  type TestRegistry,
} from '@lxr/testkit';

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, '../..');
const cli = path.join(repoRoot, 'libs/cli/dist/main.js');

/** What one `lxr` invocation printed and returned. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A whole lxr installation in a temp LXR_HOME on free ports, driven through the real CLI. */
export interface Suite {
  readonly home: string;
  readonly env: NodeJS.ProcessEnv;
  readonly apiPort: number;
  lxr(...args: string[]): Promise<CliResult>;
  /** Spawns `lxr` and hands back the child, e.g. for `lxr events`, which follows until killed. */
  spawnLxr(...args: string[]): ReturnType<typeof spawn>;
  /** The API client, with the token the gateway created on its first start (read once). */
  client(): Promise<LxrClient>;
  natsUrl(): Promise<string>;
  databaseUrl(): Promise<string>;
  /** `lxr down --purge` and the temp dir gone; safe to call twice. */
  dispose(): Promise<void>;
}

export async function createSuite(): Promise<Suite> {
  const home = await mkdtemp(path.join(tmpdir(), 'lxr-e2e-'));
  // PostgreSQL runs as its own user and must traverse LXR_HOME.
  await chmod(home, 0o755);
  const env: NodeJS.ProcessEnv = { ...process.env, LXR_HOME: home, LXR_NODE_NAME: 'e2e-node' };
  for (const name of COMPOSE_PORT_VARIABLES) env[name] = String(await freePort());
  // The network-allocator's own bridge, chains and names, so a real `lxr up` (lxr0) is never touched.
  Object.assign(env, await testNetworkEnv());
  delete env['LXR_TOKEN'];
  delete env['LXR_API_URL'];
  const secret = async (file: string) => (await readFile(path.join(home, 'secrets', file), 'utf8')).trim();
  let client: LxrClient | undefined;
  let disposed = false;
  return {
    home,
    env,
    apiPort: Number(env['LXR_API_PORT']),
    async lxr(...args) {
      try {
        const { stdout, stderr } = await run(process.execPath, [cli, ...args], { env, timeout: 60_000 });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code?: number; stdout?: string; stderr?: string };
        return {
          code: typeof e.code === 'number' ? e.code : 1,
          stdout: e.stdout ?? '',
          stderr: e.stderr ?? '',
        };
      }
    },
    spawnLxr(...args) {
      return spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    },
    async client() {
      // The token outlives gateway restarts, so one client serves every later call.
      client ??= createClient({
        url: `http://127.0.0.1:${env['LXR_API_PORT']}`,
        token: await readToken(home, env),
      });
      return client;
    },
    async natsUrl() {
      return `nats://${await secret('nats-token')}@127.0.0.1:${env['LXR_NATS_PORT']}`;
    },
    async databaseUrl() {
      return `postgres://lxr:${await secret('postgres-password')}@127.0.0.1:${env['LXR_PG_PORT']}/lxr`;
    },
    async dispose() {
      if (disposed) return;
      disposed = true;
      await run(process.execPath, [cli, 'down', '--purge'], { env, timeout: 60_000 }).catch(() => {});
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** True while a process with this pid exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Pushes a busybox image as docker.io's is — the applets and a /tmp (exec -w /tmp needs it) — plus
 * what `extra` adds to its tree, as `<registry>/<repository>:1` with Cmd `sh`; its reference.
 */
export async function pushBusybox(
  registry: TestRegistry,
  repository: string,
  extra: (dir: string) => Promise<void> = async () => {},
): Promise<string> {
  const layer = await layerFrom(async (dir) => {
    await busyboxRootfs(dir, busyboxApplets());
    await mkdir(path.join(dir, 'tmp'), { mode: 0o1777 });
    await chmod(path.join(dir, 'tmp'), 0o1777);
    await extra(dir);
  }, 'gzip');
  await pushImage(registry.host, repository, '1', makeImage([layer], { cmd: ['sh'] }));
  return `${registry.host}/${repository}:1`;
}
