import { execFile as execFileCb } from 'node:child_process';
import { createPrivateKey, createSign, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitForPort } from './ports.js';
import { startProcess } from './process.js';
import { startServer, type TestServer } from './server.js';

const execFile = promisify(execFileCb);

/** A Debian `docker-registry` (distribution) on a free loopback port. */
export interface TestRegistry extends TestServer {
  /** `127.0.0.1:<port>`, for image references. */
  readonly host: string;
}

/** Token auth of a {@link startRegistry}, as Docker Hub does it: see {@link startTokenServer}. */
export interface RegistryTokenAuth {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly rootCertBundle: string;
}

/**
 * Starts a registry with its storage in a temp dir (or `storageDir`, so two registries — one open,
 * one with token auth — can serve the same images).
 */
export async function startRegistry(
  options: { storageDir?: string; tokenAuth?: RegistryTokenAuth } = {},
): Promise<TestRegistry> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lxr-registry-'));
  const port = await freePort();
  const storage = options.storageDir ?? path.join(dir, 'storage');
  const config = path.join(dir, 'config.yml');
  const auth = options.tokenAuth;
  await writeFile(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${storage}`,
      '  delete:',
      '    enabled: true',
      '  redirect:',
      '    disable: true',
      'http:',
      `  addr: 127.0.0.1:${port}`,
      ...(auth
        ? [
            'auth:',
            '  token:',
            `    realm: ${auth.realm}`,
            `    service: ${auth.service}`,
            `    issuer: ${auth.issuer}`,
            `    rootcertbundle: ${auth.rootCertBundle}`,
          ]
        : []),
      '',
    ].join('\n'),
  );
  const server = await startServer(
    { url: `http://127.0.0.1:${port}`, port, dir },
    () => startProcess('docker-registry', ['serve', config], path.join(dir, 'registry.log')),
    () => waitForPort(port),
  );
  return { ...server, host: `127.0.0.1:${port}` };
}

/** A token server in front of a registry, like auth.docker.io. */
export interface TokenServer {
  readonly url: string;
  /** What to give {@link startRegistry}. */
  readonly auth: RegistryTokenAuth;
  /** Tokens handed out so far. */
  readonly issued: () => number;
  /** Requests refused (bad login or no access). */
  readonly refused: () => number;
  /** Stops it and removes its key and certificate. */
  close(): Promise<void>;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

/**
 * A token server that speaks Docker Hub's flow: `GET /token?service=…&scope=repository:<name>:pull`
 * with optional basic auth, answering a JWT signed by a self-made certificate (in the `x5c` header,
 * checked by the registry against `rootcertbundle`). Repositories in `publicRepositories` may be
 * pulled anonymously; logins in `users` may pull and push everything.
 */
export async function startTokenServer(
  options: {
    readonly users?: Readonly<Record<string, string>>;
    readonly publicRepositories?: readonly string[];
    readonly expiresInSeconds?: number;
  } = {},
): Promise<TokenServer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lxr-token-'));
  const keyFile = path.join(dir, 'key.pem');
  const certFile = path.join(dir, 'cert.pem');
  await execFile('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    keyFile,
    '-out',
    certFile,
    '-days',
    '2',
    '-subj',
    '/CN=lxr-test-token-issuer',
  ]);
  const key = createPrivateKey(await readFile(keyFile));
  const cert = new X509Certificate(await readFile(certFile));
  const service = 'lxr-test-registry';
  const issuer = 'lxr-test-token-issuer';
  let issued = 0;
  let refused = 0;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/token') {
      res.writeHead(404).end();
      return;
    }
    let user: string | undefined;
    const header = req.headers.authorization;
    if (header?.startsWith('Basic ')) {
      const [name, ...rest] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
      if (!name || options.users?.[name] !== rest.join(':')) {
        refused++;
        res
          .writeHead(401, { 'content-type': 'application/json' })
          .end('{"details":"incorrect username or password"}');
        return;
      }
      user = name;
    }
    const access = url.searchParams.getAll('scope').flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      if (type !== 'repository' || !name || !actions) return [];
      const allowed = user ? actions.split(',') : options.publicRepositories?.includes(name) ? ['pull'] : [];
      return allowed.length
        ? [{ type, name, actions: allowed.filter((a) => actions.split(',').includes(a)) }]
        : [];
    });
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = options.expiresInSeconds ?? 300;
    const head = b64url(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5c: [cert.raw.toString('base64')] }));
    const claims = b64url(
      JSON.stringify({
        iss: issuer,
        sub: user ?? '',
        aud: url.searchParams.get('service') ?? service,
        exp: now + expiresIn,
        nbf: now - 10,
        iat: now,
        jti: randomUUID(),
        access,
      }),
    );
    const signature = createSign('RSA-SHA256').update(`${head}.${claims}`).sign(key).toString('base64url');
    issued++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        token: `${head}.${claims}.${signature}`,
        expires_in: expiresIn,
        issued_at: new Date().toISOString(),
      }),
    );
  });
  // Port 0: the kernel picks a free one, with no window for another process to take it first.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    auth: { realm: `${url}/token`, service, issuer, rootCertBundle: certFile },
    issued: () => issued,
    refused: () => refused,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}
