import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ConfigOf, field } from '@lxr/service-kit';
import type { NodeLayout } from './runtime/node-layout.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * Where the executor finds the native binaries and keeps its state on the node: read by the service
 * and by `lxr down --purge` ({@link purgeContainers}), so both agree on every path.
 */
export const nodeConfigSpec = {
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
};

/** The node layout of the executor of `home`. */
export function nodeLayout(config: ConfigOf<typeof nodeConfigSpec>, home: string): NodeLayout {
  return {
    monitor: path.join(config.nativeDir, 'lxr-monitor'),
    init: path.join(config.nativeDir, 'lxr-init'),
    runtime: config.runtime ?? path.join(config.nativeDir, 'lxr-runtime'),
    runtimeRoot: config.runtimeRoot,
    seccompProfile: config.seccompProfile,
    runDir: config.runDir,
    dataDir: containersDir(home),
  };
}

/** The bundles and logs of the executor of `home`, one dir per container. */
export const containersDir = (home: string): string => path.join(home, 'executor', 'containers');
