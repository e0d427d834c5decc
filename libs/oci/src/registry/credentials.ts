import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { messageOf, OciError, OciErrorCode } from '../errors.js';

/** A registry login: user and password (or token), as `docker login` stores it. */
export interface Credential {
  readonly username: string;
  readonly password: string;
}

/** Where the client finds logins for a registry host. */
export interface CredentialSource {
  get(registry: string): Promise<Credential | undefined>;
}

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

// Docker Hub's logins are stored under its v1 index URL.
const HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

function keysFor(registry: string): string[] {
  if (registry === 'docker.io') return HUB_KEYS;
  return [
    registry,
    `https://${registry}`,
    `http://${registry}`,
    `https://${registry}/v1/`,
    `https://${registry}/v2/`,
  ];
}

/** Runs `docker-credential-<helper> get` for a server, as docker does. */
export function runCredentialHelper(
  helper: string,
  server: string,
  timeoutMs = 10_000,
): Promise<Credential | undefined> {
  if (!/^[a-zA-Z0-9_.-]{1,64}$/.test(helper)) {
    return Promise.reject(
      new OciError(OciErrorCode.CredentialHelper, `invalid credential helper name "${helper.slice(0, 80)}"`),
    );
  }
  return new Promise((resolve, reject) => {
    const child = execFile(
      `docker-credential-${helper}`,
      ['get'],
      { timeout: timeoutMs, maxBuffer: 1024 * 1024 },
      (error, stdout) => {
        if (error) {
          // Helpers answer a missing login with exit 1 and this text on stdout.
          if (/credentials not found/i.test(stdout)) return resolve(undefined);
          return reject(
            new OciError(
              OciErrorCode.CredentialHelper,
              `docker-credential-${helper} failed for ${server}: ${messageOf(error).split('\n')[0]}`,
              { cause: error },
            ),
          );
        }
        try {
          const parsed = JSON.parse(stdout) as { Username?: unknown; Secret?: unknown };
          if (typeof parsed.Username !== 'string' || typeof parsed.Secret !== 'string')
            throw new Error('no Username/Secret');
          resolve({ username: parsed.Username, password: parsed.Secret });
        } catch (cause) {
          reject(
            new OciError(
              OciErrorCode.CredentialHelper,
              `docker-credential-${helper} printed no valid credentials for ${server}`,
              { cause },
            ),
          );
        }
      },
    );
    child.stdin?.end(server);
  });
}

/**
 * Logins from docker's `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
 * `credHelpers` for the host first, then `auths`, then the `credsStore` helper. A missing file means
 * anonymous access.
 */
export function dockerConfigCredentials(
  file = path.join(process.env['DOCKER_CONFIG'] ?? path.join(homedir(), '.docker'), 'config.json'),
): CredentialSource {
  let loaded: Promise<DockerConfigFile> | undefined;
  const load = () =>
    (loaded ??= readFile(file, 'utf8').then(
      (text) => {
        try {
          return JSON.parse(text) as DockerConfigFile;
        } catch (cause) {
          throw new OciError(OciErrorCode.CredentialHelper, `${file} is not valid JSON`, { cause });
        }
      },
      (error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return {} as DockerConfigFile;
        throw new OciError(OciErrorCode.CredentialHelper, `cannot read ${file}: ${error.message}`, {
          cause: error,
        });
      },
    ));
  return {
    async get(registry) {
      const config = await load();
      const keys = keysFor(registry);
      for (const key of keys) {
        const helper = config.credHelpers?.[key];
        if (helper) return runCredentialHelper(helper, registry === 'docker.io' ? HUB_KEYS[0]! : key);
      }
      for (const key of keys) {
        const entry = config.auths?.[key];
        if (!entry) continue;
        if (entry.identitytoken) return { username: '<token>', password: entry.identitytoken };
        if (entry.username && entry.password) return { username: entry.username, password: entry.password };
        if (entry.auth) {
          const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
          const colon = decoded.indexOf(':');
          if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
        }
      }
      if (config.credsStore)
        return runCredentialHelper(config.credsStore, registry === 'docker.io' ? HUB_KEYS[0]! : registry);
      return undefined;
    },
  };
}

/** No logins at all. */
export const anonymous: CredentialSource = { get: async () => undefined };
