import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** The file under LXR_HOME holding the API's bearer token. */
const API_TOKEN_FILE = 'api-token';

/**
 * The API token in `<home>/api-token`, created on first use: 32 random bytes as hex, the file
 * file mode 0600, owned by the gateway's user. LXR_HOME itself keeps its mode: PostgreSQL, running as
 * its own user, must be able to traverse it to reach its data directory. Later starts read the same
 * token, tightening the file's mode if someone loosened it. Concurrent first starts agree on one
 * token (the file is created exclusively).
 */
export async function ensureApiToken(
  home: string,
): Promise<{ token: string; file: string; created: boolean }> {
  const file = path.join(home, API_TOKEN_FILE);
  await mkdir(home, { recursive: true });
  try {
    const token = randomBytes(32).toString('hex');
    await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return { token, file, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if (((await stat(file)).mode & 0o077) !== 0) await chmod(file, 0o600);
  const token = (await readFile(file, 'utf8')).trim();
  if (!/^[0-9a-f]{64}$/.test(token)) {
    throw new Error(
      `the API token file ${file} does not hold 64 hex characters; delete it and restart the gateway to make a new one`,
    );
  }
  return { token, file, created: false };
}
