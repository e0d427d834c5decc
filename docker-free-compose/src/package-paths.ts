import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package directory (`docker-free-compose/`), found from this compiled file in `dist/`. */
export const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The compose file shipped with the package. */
export const defaultComposeFile = path.join(packageDir, 'compose.yaml');

/** The daemon entry point that `composeUp` starts. */
export const daemonEntry = path.join(packageDir, 'dist', 'main.js');

/** The repository root (LXR_ROOT): the package's parent directory. */
export const repositoryRoot = path.dirname(packageDir);
