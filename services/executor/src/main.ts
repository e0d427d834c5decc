// Composition root of the executor, the privileged node agent that runs this node's containers
// through lxr's native runtime (or runc) and reports their lifecycle. The only file that reads the
// environment and opens PostgreSQL and NATS.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPostgresEventStore } from '@lxr/event-store';
import { field, runService } from '@lxr/service-kit';
import { Executor } from './executor.js';
import { loadSeccompProfile } from './runtime/bundle.js';
import { NodeRuntime } from './runtime/node-runtime.js';
import { startResponders } from './sessions/responders.js';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

await runService({
  name: 'executor',
  perNode: true,
  version,
  config: {
    // The common `databaseUrl`, required here: the executor reads and appends the event log.
    databaseUrl: field.url('LXR_DATABASE_URL', {
      secret: true,
      protocols: ['postgres:', 'postgresql:'],
      description: 'the PostgreSQL URL of the event log',
    }),
    nativeDir: field.string('LXR_NATIVE_DIR', {
      default: path.join(repo, 'native/build'),
      description: 'where lxr-monitor, lxr-init and lxr-runtime are',
    }),
    runtime: field.string('LXR_RUNTIME', {
      optional: true,
      description: 'the OCI runtime binary (default: lxr-runtime in LXR_NATIVE_DIR; runc works too)',
    }),
    runtimeRoot: field.string('LXR_RUNTIME_ROOT', {
      default: '/run/lxr/runtime',
      description: "the runtime's state directory (--root)",
    }),
    runDir: field.string('LXR_EXECUTOR_RUN_DIR', {
      default: '/run/lxr/executor',
      description: "the monitors' state directories (a tmpfs)",
    }),
    seccompProfile: field.string('LXR_SECCOMP_PROFILE', {
      default: path.join(repo, 'native/seccomp/default.json'),
      description: 'the seccomp profile every container gets',
    }),
  },
  async start({ config, logger, bus, nats, signal, onStop, onShutdown }) {
    const runtime = new NodeRuntime({
      monitor: path.join(config.nativeDir, 'lxr-monitor'),
      init: path.join(config.nativeDir, 'lxr-init'),
      runtime: config.runtime ?? path.join(config.nativeDir, 'lxr-runtime'),
      runtimeRoot: config.runtimeRoot,
      seccompProfile: config.seccompProfile,
      runDir: config.runDir,
      dataDir: path.join(config.home, 'executor', 'containers'),
    });
    const store = createPostgresEventStore({ connectionString: config.databaseUrl, logger });
    onShutdown('event store', () => store.close());
    const executor = new Executor({
      store,
      runtime,
      node: config.node,
      seccomp: await loadSeccompProfile(config.seccompProfile),
      logger,
    });
    onStop('executor', () => executor.close());
    await executor.adopt();
    const responders = startResponders({ bus, nats, node: config.node, runtime, logger, signal });
    onStop('responders', async () => {
      await Promise.all(responders.map((r) => r.drain()));
    });
    await bus.subscribe({
      durable: `executor-${config.node.replace(/[^A-Za-z0-9_-]/g, '_')}`,
      handler: (event) => executor.handle(event),
      concurrency: 8,
    });
    logger.info(
      { runtime: runtime.layout.runtime, containers: (await runtime.known()).length },
      'executor running',
    );
  },
});
