import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { ExecutorError, ExecutorErrorCode } from '../errors.js';
import type { ContainerPaths } from './node-layout.js';
import { type OciConfigInput, ociConfig } from './oci-spec.js';

/** Reads the seccomp profile once: a runtime-spec `linux.seccomp` object. */
export async function loadSeccompProfile(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (error) {
    throw new ExecutorError(
      ExecutorErrorCode.NativeMissing,
      `cannot read the seccomp profile ${file}: ${(error as Error).message}; build native/ with \`make -C native\``,
      { cause: error },
    );
  }
}

/** Writes the container's OCI bundle: config.json and the /etc/hostname it bind-mounts. */
export async function writeBundle(
  paths: ContainerPaths,
  input: Omit<OciConfigInput, 'hostnamePath'>,
): Promise<void> {
  try {
    await mkdir(paths.bundle, { recursive: true, mode: 0o700 });
    await writeFile(paths.hostname, `${input.hostname}\n`);
    const config = ociConfig({ ...input, hostnamePath: paths.hostname });
    await writeFile(paths.config, JSON.stringify(config));
  } catch (error) {
    throw new ExecutorError(
      ExecutorErrorCode.BundleFailed,
      `cannot write the bundle ${paths.bundle}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
