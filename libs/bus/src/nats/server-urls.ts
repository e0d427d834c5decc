/** NATS server addresses with the credentials taken out of their URLs. */
export interface NatsServerOptions {
  readonly servers: string[];
  readonly token?: string;
  readonly user?: string;
  readonly pass?: string;
}

/**
 * Splits `nats://TOKEN@host:port` or `nats://user:pass@host:port` into bare server URLs and
 * credentials: nats.js ignores credentials inside a server URL, so they must be passed apart.
 */
export function natsServerOptions(urls: string | readonly string[]): NatsServerOptions {
  let token: string | undefined;
  let user: string | undefined;
  let pass: string | undefined;
  const servers = [urls].flat().map((raw) => {
    let url: URL;
    try {
      url = new URL(raw.includes('://') ? raw : `nats://${raw}`);
    } catch {
      return raw;
    }
    if (url.username && url.password) {
      user = decodeURIComponent(url.username);
      pass = decodeURIComponent(url.password);
    } else if (url.username) {
      token = decodeURIComponent(url.username);
    }
    return `${url.protocol}//${url.host}`;
  });
  return { servers, ...(token ? { token } : {}), ...(user ? { user, pass } : {}) };
}

/** A server URL safe to log: credentials replaced by `***`. */
export function redactServerUrl(raw: string): string {
  return raw.replace(/\/\/[^@/]+@/, '//***@');
}
