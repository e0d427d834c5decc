import { OciError, OciErrorCode } from '../errors.js';
import type { Credential } from './credentials.js';
import { type HttpResponse, httpRequest, readBody } from './http.js';

/** A parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  readonly scheme: 'bearer' | 'basic';
  readonly params: Readonly<Record<string, string>>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (quoted values may hold commas). */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(header);
  if (!match) return undefined;
  const scheme = match[1]!.toLowerCase();
  if (scheme !== 'bearer' && scheme !== 'basic') return undefined;
  const params: Record<string, string> = {};
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g;
  for (const m of match[2]!.matchAll(re)) {
    params[m[1]!.toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  }
  return { scheme, params };
}

interface CachedToken {
  readonly token: string;
  readonly expiresAt: number;
}

/**
 * Bearer tokens per (realm, service, scope), kept until shortly before they expire — the Docker Hub
 * flow: a 401 names the token server (`realm`), which hands out a token for a repository scope.
 */
export class TokenCache {
  readonly #tokens = new Map<string, CachedToken>();
  readonly #pending = new Map<string, Promise<string>>();
  constructor(private readonly now: () => number = Date.now) {}

  /** A valid token for the challenge and scope, fetching one (once, however many ask) if needed. */
  async token(
    challenge: Challenge,
    scope: string,
    credential: Credential | undefined,
    signal?: AbortSignal,
  ): Promise<string> {
    const realm = challenge.params['realm'];
    if (!realm)
      throw new OciError(OciErrorCode.Unauthorized, 'the registry asked for a bearer token without a realm');
    const service = challenge.params['service'] ?? '';
    const key = `${realm}\n${service}\n${scope}\n${credential?.username ?? ''}`;
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt > this.now()) return cached.token;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#fetch(realm, service, scope, credential, key, signal).finally(() =>
        this.#pending.delete(key),
      );
      this.#pending.set(key, pending);
    }
    return pending;
  }

  /** Forgets a token the registry refused. */
  invalidate(challenge: Challenge, scope: string, credential: Credential | undefined): void {
    this.#tokens.delete(
      `${challenge.params['realm']}\n${challenge.params['service'] ?? ''}\n${scope}\n${credential?.username ?? ''}`,
    );
  }

  async #fetch(
    realm: string,
    service: string,
    scope: string,
    credential: Credential | undefined,
    key: string,
    signal?: AbortSignal,
  ) {
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new OciError(
        OciErrorCode.Unauthorized,
        `the registry's token realm "${realm.slice(0, 200)}" is not a URL`,
      );
    }
    if (service) url.searchParams.set('service', service);
    if (scope) url.searchParams.set('scope', scope);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (credential) headers['authorization'] = basicAuth(credential);
    const response: HttpResponse = await httpRequest(url, {
      headers,
      ...(signal ? { signal } : {}),
      allowHttp: true,
    });
    const body = await readBody(response, 1024 * 1024, `token from ${url.host}`);
    if (response.status === 401 || response.status === 403) {
      throw new OciError(
        OciErrorCode.Unauthorized,
        `token server ${url.host} refused ${credential ? `the login of "${credential.username}"` : 'anonymous access'} for ${scope} (HTTP ${response.status})`,
      );
    }
    if (response.status !== 200) {
      throw new OciError(
        OciErrorCode.RegistryError,
        `token server ${url.host} answered HTTP ${response.status}`,
        { retryable: response.status >= 500 || response.status === 429 },
      );
    }
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (cause) {
      throw new OciError(OciErrorCode.RegistryError, `token server ${url.host} answered invalid JSON`, {
        cause,
      });
    }
    const token = typeof parsed.token === 'string' ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new OciError(OciErrorCode.RegistryError, `token server ${url.host} answered no token`);
    }
    // The spec's default lifetime is 60 s; keep a margin so a token never expires in flight.
    const lifetime = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : 60;
    this.#tokens.set(key, { token, expiresAt: this.now() + Math.max(lifetime - 10, lifetime / 2) * 1000 });
    return token;
  }
}

/** `Basic base64(user:password)`. */
export function basicAuth(credential: Credential): string {
  return `Basic ${Buffer.from(`${credential.username}:${credential.password}`).toString('base64')}`;
}
