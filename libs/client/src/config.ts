import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TokenMissingError } from './errors.js';

/** Where lxr keeps its state when LXR_HOME is not set. */
export const DEFAULT_LXR_HOME = '/var/lib/lxr';

/** LXR_HOME, or `/var/lib/lxr`. */
export function lxrHome(env: NodeJS.ProcessEnv = process.env): string {
  return env['LXR_HOME'] || DEFAULT_LXR_HOME;
}

/**
 * The API's URL: LXR_API_URL; else built from LXR_API_HOST/LXR_API_PORT when either is set (the
 * gateway's own variables); else `http://127.0.0.1:7420`.
 */
export function defaultApiUrl(env: NodeJS.ProcessEnv = process.env): string {
  if (env['LXR_API_URL']) return env['LXR_API_URL'];
  if (env['LXR_API_HOST'] || env['LXR_API_PORT']) {
    const host = env['LXR_API_HOST'] || '127.0.0.1';
    const bracketed = host.includes(':') ? `[${host}]` : host;
    return `http://${host === '0.0.0.0' ? '127.0.0.1' : bracketed}:${env['LXR_API_PORT'] || '7420'}`;
  }
  return 'http://127.0.0.1:7420';
}

/**
 * The API token: LXR_TOKEN, else the file `<home>/api-token` (home defaults to LXR_HOME or
 * `/var/lib/lxr`), which the gateway creates on its first start. Throws {@link TokenMissingError}
 * saying what to do when there is none.
 *
 * @example
 * const token = await readToken(); // reads /var/lib/lxr/api-token
 */
export async function readToken(home?: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (env['LXR_TOKEN']) return env['LXR_TOKEN'].trim();
  const file = path.join(home ?? lxrHome(env), 'api-token');
  let token: string;
  try {
    token = (await readFile(file, 'utf8')).trim();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES') {
      throw new TokenMissingError(
        file,
        `cannot read the API token ${file}: permission denied; run as the user that runs lxr (root), or set LXR_TOKEN`,
        { cause: error },
      );
    }
    throw new TokenMissingError(
      file,
      `no API token at ${file}: run \`lxr up\` first (the API creates it on its first start), or set LXR_TOKEN`,
      { cause: error },
    );
  }
  if (token === '')
    throw new TokenMissingError(
      file,
      `the API token file ${file} is empty: run \`lxr up\` to recreate it, or set LXR_TOKEN`,
    );
  return token;
}
