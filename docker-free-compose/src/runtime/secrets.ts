import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** A secret the supervisor generates on first start and exposes as `${name}` and `${name}_FILE`. */
export interface SecretDefinition {
  /** The variable name in the compose file. */
  readonly name: string;
  /** The file under `${LXR_HOME}/secrets/`. */
  readonly file: string;
}

/**
 * The secrets of an lxr installation. Values are `lxr` then hex, so they are safe unquoted in URLs, SQL
 * strings and nats-server configs (which parse a value starting with a digit as a number).
 */
export const SECRETS: readonly SecretDefinition[] = [
  { name: 'LXR_PG_PASSWORD', file: 'postgres-password' },
  { name: 'LXR_NATS_TOKEN', file: 'nats-token' },
];

/**
 * Reads the secrets under `dir`, generating the missing ones: the directory is mode 0700 and every file
 * 0600 (both fixed on each start). Returns name → value.
 */
export async function ensureSecrets(dir: string): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  const values: Record<string, string> = {};
  for (const secret of SECRETS) {
    const file = path.join(dir, secret.file);
    try {
      await writeFile(file, `lxr${randomBytes(24).toString('hex')}\n`, { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    await chmod(file, 0o600);
    const value = (await readFile(file, 'utf8')).trim();
    if (!value) throw new Error(`secret file ${file} is empty; delete it to generate a new one`);
    values[secret.name] = value;
  }
  return values;
}

/** Where `${NAME_FILE}` points: a copy readable by one init step's user while it runs. */
export function secretFilePath(runSecretsDir: string, secret: SecretDefinition): string {
  return path.join(runSecretsDir, secret.file);
}

/**
 * Copies secrets to their `${NAME_FILE}` paths (mode 0400, owned by `owner` when given) for the time
 * `fn` runs, then deletes the copies: an init step running as `postgres` can read its password file
 * while `${LXR_HOME}/secrets` stays root-only.
 */
export async function withSecretFiles<T>(
  runSecretsDir: string,
  names: readonly string[],
  values: Readonly<Record<string, string>>,
  owner: { uid: number; gid: number } | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  const files: string[] = [];
  try {
    if (names.length > 0) {
      await mkdir(runSecretsDir, { recursive: true, mode: 0o711 });
      await chmod(runSecretsDir, 0o711);
    }
    for (const name of names) {
      const secret = SECRETS.find((s) => s.name === name);
      const value = values[name];
      if (!secret || value === undefined) throw new Error(`unknown secret ${name}`);
      const file = secretFilePath(runSecretsDir, secret);
      await rm(file, { force: true });
      await writeFile(file, `${value}\n`, { flag: 'wx', mode: 0o400 });
      files.push(file);
      if (owner) await chown(file, owner.uid, owner.gid);
    }
    return await fn();
  } finally {
    await Promise.all(files.map((f) => rm(f, { force: true })));
  }
}
