import type { Migration } from 'kysely';
import * as createContainers from './20261129120000-create-containers.js';
import * as containerExitCode from './20261129130000-container-exit-code.js';

/**
 * The gateway's migrations, by name: timestamps, so append new ones with a later stamp. Listed
 * statically so no directory scan can miss one.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '20261129120000-create-containers': createContainers,
  '20261129130000-container-exit-code': containerExitCode,
};
