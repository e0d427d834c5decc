import type { IncomingMessage } from 'node:http';
import { type Digest, parseDigest, sha256Digest } from '../digest.js';
import { OciError, OciErrorCode } from '../errors.js';
import { MAX_MANIFEST_BYTES } from '../manifest.js';
import { MANIFEST_ACCEPT } from '../media-types.js';
import { DOCKER_HUB, DOCKER_HUB_REGISTRY, type ImageReference } from '../reference.js';
import { basicAuth, type Challenge, parseChallenge, TokenCache } from './auth.js';
import { anonymous, type Credential, type CredentialSource } from './credentials.js';
import { type HttpResponse, httpRequest, readBody } from './http.js';

/** How a {@link RegistryClient} reaches registries. */
export interface RegistryClientOptions {
  /** Logins; default anonymous. See `dockerConfigCredentials()`. */
  readonly credentials?: CredentialSource;
  /**
   * Mirrors per registry, tried in order before the registry itself (which is the fallback), e.g.
   * `{ 'docker.io': ['https://mirror.example'] }`.
   */
  readonly mirrors?: Readonly<Record<string, readonly string[]>>;
  /** Registries spoken to over plain HTTP besides `localhost` and 127.0.0.0/8. */
  readonly insecureRegistries?: readonly string[];
  /** Attempts per request on network errors, 429 and 5xx; default 5. */
  readonly attempts?: number;
  /** First retry delay, doubled each time up to `retryMaxMs`; default 200 ms. */
  readonly retryBaseMs?: number;
  /** Longest wait between attempts, also the cap on `Retry-After`; default 10 s. */
  readonly retryMaxMs?: number;
  /** Idle timeout of a connection; default 30 s. */
  readonly timeoutMs?: number;
  readonly userAgent?: string;
  /** Told about each retry (for logs). */
  readonly onRetry?: (info: { url: string; attempt: number; delayMs: number; reason: string }) => void;
}

/** Where requests for a registry go: a base URL and the host whose logins apply. */
export interface Endpoint {
  readonly base: URL;
  readonly host: string;
  readonly mirror: boolean;
}

/** A manifest or index as served, with the digest of its bytes. */
export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly mediaType: string | undefined;
  readonly digest: Digest;
}

/** An open blob body from `offset` on (`offset` is 0 when the registry ignored a range). */
export interface BlobResponse {
  readonly body: IncomingMessage;
  readonly offset: number;
}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

/** True for hosts docker speaks plain HTTP to: `localhost` and 127.0.0.0/8 (any port). */
export function isLoopbackRegistry(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(name);
}

/** Delay from a `Retry-After` header (seconds or an HTTP date), if any. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new OciError(OciErrorCode.Aborted, 'aborted'));
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(new OciError(OciErrorCode.Aborted, 'aborted'));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The sha256 digest a registry announced in `Docker-Content-Digest`, if it sent one. */
function announcedDigest(response: HttpResponse): string | undefined {
  const served = response.headers['docker-content-digest'];
  return typeof served === 'string' && served.startsWith('sha256:') ? served : undefined;
}

async function errorDetail(response: HttpResponse): Promise<string> {
  try {
    const body = await readBody(response, 64 * 1024, 'error body');
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: { code?: string; message?: string }[] };
    const first = parsed.errors?.[0];
    if (first) return `: ${first.code ?? ''}${first.message ? ` ${first.message}` : ''}`.slice(0, 300);
  } catch {
    // Not the registry's JSON error format; the status says enough.
  }
  return '';
}

/**
 * A client of the OCI distribution API (registry v2): manifests and blobs, anonymous, basic and
 * bearer-token auth (tokens cached per scope), mirrors with fallback to the origin, plain HTTP for
 * loopback and insecure registries, redirects, and retries with backoff honouring `Retry-After`.
 *
 * @example
 * const client = new RegistryClient({ credentials: dockerConfigCredentials() });
 * const { bytes, digest } = await client.fetchManifest(parseReference('localhost:5000/app:1'), '1');
 */
export class RegistryClient {
  readonly #credentials: CredentialSource;
  readonly #tokens = new TokenCache();
  readonly #challenges = new Map<string, Challenge>();
  readonly #logins = new Map<string, Promise<Credential | undefined>>();
  readonly #attempts: number;
  readonly #retryBaseMs: number;
  readonly #retryMaxMs: number;

  constructor(private readonly options: RegistryClientOptions = {}) {
    this.#credentials = options.credentials ?? anonymous;
    this.#attempts = Math.max(1, options.attempts ?? 5);
    this.#retryBaseMs = options.retryBaseMs ?? 200;
    this.#retryMaxMs = options.retryMaxMs ?? 10_000;
  }

  /** The endpoints for a registry, mirrors first. */
  endpoints(registry: string): Endpoint[] {
    const mirrors = (this.options.mirrors?.[registry] ?? []).map((m) => {
      const base = new URL(m.includes('://') ? m : `https://${m}`);
      return { base, host: base.host, mirror: true };
    });
    const host = registry === DOCKER_HUB ? DOCKER_HUB_REGISTRY : registry;
    const plain = isLoopbackRegistry(host) || (this.options.insecureRegistries ?? []).includes(registry);
    return [...mirrors, { base: new URL(`${plain ? 'http' : 'https'}://${host}`), host, mirror: false }];
  }

  /**
   * Fetches a manifest or index by tag or digest (size-capped). When `reference` is a digest, the
   * bytes must hash to it; a `Docker-Content-Digest` the registry sends must match too.
   */
  async fetchManifest(
    ref: ImageReference,
    reference: string,
    signal?: AbortSignal,
  ): Promise<FetchedManifest> {
    return this.#onEndpoints(ref, async (endpoint) => {
      const response = await this.#manifestRequest(endpoint, ref, reference, 'GET', signal);
      const bytes = await readBody(
        response,
        MAX_MANIFEST_BYTES,
        `manifest of ${ref.repository}:${reference}`,
      );
      const digest = sha256Digest(bytes);
      if (reference.includes(':') && reference !== digest) {
        throw new OciError(
          OciErrorCode.DigestMismatch,
          `manifest ${ref.repository}@${reference} from ${endpoint.host} has digest ${digest}`,
        );
      }
      const served = announcedDigest(response);
      if (served !== undefined && served !== digest) {
        throw new OciError(
          OciErrorCode.DigestMismatch,
          `manifest ${ref.repository}:${reference} from ${endpoint.host} hashes to ${digest}, not the ${served} the registry announced`,
        );
      }
      const type = response.headers['content-type'];
      return { bytes, mediaType: typeof type === 'string' ? type : undefined, digest };
    });
  }

  /** The digest a tag points at now (a HEAD request), or `undefined` if the registry does not say. */
  async resolveDigest(
    ref: ImageReference,
    reference: string,
    signal?: AbortSignal,
  ): Promise<Digest | undefined> {
    return this.#onEndpoints(ref, async (endpoint) => {
      const response = await this.#manifestRequest(endpoint, ref, reference, 'HEAD', signal);
      const served = announcedDigest(response);
      return served === undefined ? undefined : parseDigest(served, 'Docker-Content-Digest');
    });
  }

  /** Requests a manifest by tag or digest; answers only a successful response. */
  async #manifestRequest(
    endpoint: Endpoint,
    ref: ImageReference,
    reference: string,
    method: 'GET' | 'HEAD',
    signal: AbortSignal | undefined,
  ): Promise<HttpResponse> {
    const response = await this.#request(
      endpoint,
      ref.repository,
      `manifests/${reference}`,
      { accept: MANIFEST_ACCEPT },
      method,
      signal,
    );
    if (method === 'HEAD') response.body.resume();
    await this.#check(response, `manifest ${ref.repository}:${reference}`);
    return response;
  }

  /** Opens a blob from `offset` (a `Range` request); the caller verifies what it reads. */
  async openBlob(
    ref: ImageReference,
    digest: Digest,
    offset = 0,
    signal?: AbortSignal,
  ): Promise<BlobResponse> {
    return this.#onEndpoints(ref, async (endpoint) => {
      const headers: Record<string, string> = offset > 0 ? { range: `bytes=${offset}-` } : {};
      const response = await this.#request(
        endpoint,
        ref.repository,
        `blobs/${digest}`,
        headers,
        'GET',
        signal,
      );
      if (response.status === 416 && offset > 0) {
        response.body.resume();
        return this.openBlob(ref, digest, 0, signal);
      }
      await this.#check(response, `blob ${digest} of ${ref.repository}`);
      if (response.status === 206) {
        const range = /^bytes (\d+)-/.exec(String(response.headers['content-range'] ?? ''));
        if (range && Number(range[1]) === offset) return { body: response.body, offset };
        response.body.destroy();
        return this.openBlob(ref, digest, 0, signal);
      }
      return { body: response.body, offset: 0 };
    });
  }

  /** Tries the mirrors, then the registry; a mirror's failure (of any kind) falls through to the next. */
  async #onEndpoints<T>(ref: ImageReference, run: (endpoint: Endpoint) => Promise<T>): Promise<T> {
    const endpoints = this.endpoints(ref.registry);
    for (const endpoint of endpoints) {
      if (!endpoint.mirror) return run(endpoint);
      try {
        return await run(endpoint);
      } catch (error) {
        if (error instanceof OciError && error.code === OciErrorCode.Aborted) throw error;
        this.options.onRetry?.({
          url: endpoint.base.href,
          attempt: 0,
          delayMs: 0,
          reason: `mirror failed, next endpoint: ${(error as Error).message}`,
        });
      }
    }
    throw new OciError(OciErrorCode.RegistryError, `no endpoint for ${ref.registry}`);
  }

  async #check(response: HttpResponse, what: string): Promise<void> {
    if (response.status === 200 || response.status === 206) return;
    const detail = await errorDetail(response);
    const where = response.url.host;
    if (response.status === 404)
      throw new OciError(OciErrorCode.NotFound, `${what} not found on ${where}${detail}`);
    if (response.status === 401)
      throw new OciError(
        OciErrorCode.Unauthorized,
        `${where} refused access to ${what}: log in (docker login ${where}) or check the name${detail}`,
      );
    if (response.status === 403)
      throw new OciError(OciErrorCode.Denied, `${where} denied access to ${what}${detail}`);
    throw new OciError(
      OciErrorCode.RegistryError,
      `${where} answered HTTP ${response.status} for ${what}${detail}`,
      { retryable: RETRY_STATUS.has(response.status) },
    );
  }

  #login(host: string): Promise<Credential | undefined> {
    let login = this.#logins.get(host);
    if (!login) {
      login = this.#credentials.get(host === DOCKER_HUB_REGISTRY ? DOCKER_HUB : host);
      login.catch(() => this.#logins.delete(host));
      this.#logins.set(host, login);
    }
    return login;
  }

  async #authorization(
    endpoint: Endpoint,
    repository: string,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const challenge = this.#challenges.get(endpoint.base.origin);
    if (!challenge) return undefined;
    const credential = await this.#login(endpoint.host);
    if (challenge.scheme === 'basic') {
      if (!credential)
        throw new OciError(
          OciErrorCode.Unauthorized,
          `${endpoint.host} needs a login and none is configured (docker login ${endpoint.host})`,
        );
      return basicAuth(credential);
    }
    return `Bearer ${await this.#tokens.token(challenge, `repository:${repository}:pull`, credential, signal)}`;
  }

  /** One API request with auth and retries; a 401 re-authenticates once. */
  async #request(
    endpoint: Endpoint,
    repository: string,
    path: string,
    extraHeaders: Record<string, string>,
    method: 'GET' | 'HEAD',
    signal?: AbortSignal,
  ): Promise<HttpResponse> {
    const url = new URL(`/v2/${repository}/${path}`, endpoint.base);
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      let delay: number | undefined;
      let reason = '';
      try {
        const headers: Record<string, string> = {
          ...extraHeaders,
          'user-agent': this.options.userAgent ?? 'lxr/0.1',
        };
        const authorization = await this.#authorization(endpoint, repository, signal);
        if (authorization) headers['authorization'] = authorization;
        const response = await httpRequest(url, {
          method,
          headers,
          allowHttp: endpoint.base.protocol === 'http:',
          ...(signal ? { signal } : {}),
          ...(this.options.timeoutMs ? { timeoutMs: this.options.timeoutMs } : {}),
        });
        if (response.status === 401 && !reauthenticated) {
          const challenge = parseChallenge(String(response.headers['www-authenticate'] ?? ''));
          if (challenge) {
            response.body.resume();
            reauthenticated = true;
            const previous = this.#challenges.get(endpoint.base.origin);
            if (previous?.scheme === 'bearer')
              this.#tokens.invalidate(
                previous,
                `repository:${repository}:pull`,
                await this.#login(endpoint.host),
              );
            this.#challenges.set(endpoint.base.origin, challenge);
            attempt--;
            continue;
          }
        }
        if (!RETRY_STATUS.has(response.status) || attempt >= this.#attempts) return response;
        response.body.resume();
        reason = `HTTP ${response.status}`;
        delay = retryAfterMs(String(response.headers['retry-after'] ?? '') || undefined);
      } catch (error) {
        if (!(error instanceof OciError) || !error.retryable || attempt >= this.#attempts) throw error;
        reason = error.message;
      }
      const backoff =
        Math.min(this.#retryMaxMs, this.#retryBaseMs * 2 ** (attempt - 1)) * (0.75 + Math.random() * 0.5);
      const wait = Math.min(this.#retryMaxMs, Math.max(delay ?? 0, backoff));
      this.options.onRetry?.({ url: url.href, attempt, delayMs: Math.round(wait), reason });
      await sleep(wait, signal);
    }
  }
}
