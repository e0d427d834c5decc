import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { messageOf, OciError, OciErrorCode } from '../errors.js';

/** A response whose body has not been read yet. */
export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: IncomingMessage;
  /** The URL that answered, after redirects. */
  readonly url: URL;
}

/** One request: method, headers, and where redirects may take it. */
export interface HttpRequestOptions {
  readonly method?: 'GET' | 'HEAD';
  readonly headers?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
  /** Allow plain-HTTP redirect targets (for insecure registries). */
  readonly allowHttp?: boolean;
  /** Socket idle timeout; default 30 s. */
  readonly timeoutMs?: number;
}

const MAX_REDIRECTS = 10;
// Keep-alive with room for parallel layer downloads to one host.
const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 32 });

function once(url: URL, options: HttpRequestOptions, headers: Record<string, string>): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const lib = url.protocol === 'https:' ? https : http;
    const req = lib.request(url, {
      method: options.method ?? 'GET',
      headers,
      agent: url.protocol === 'https:' ? httpsAgent : httpAgent,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    req.setTimeout(options.timeoutMs ?? 30_000, () => {
      req.destroy(
        new OciError(
          OciErrorCode.Network,
          `${url.host}: no answer within ${options.timeoutMs ?? 30_000} ms`,
          { retryable: true },
        ),
      );
    });
    req.once('response', (body) => {
      // The request's idle timeout stays on the socket, so a body that stalls mid-stream fails too.
      resolve({ status: body.statusCode ?? 0, headers: body.headers, body, url });
    });
    req.once('error', (error) => {
      if (options.signal?.aborted) {
        reject(new OciError(OciErrorCode.Aborted, `request to ${url.host} aborted`, { cause: error }));
      } else if (error instanceof OciError) {
        reject(error);
      } else {
        reject(
          new OciError(OciErrorCode.Network, `${url.host}: ${messageOf(error)}`, {
            cause: error,
            retryable: true,
          }),
        );
      }
    });
    req.end();
  });
}

/**
 * GET or HEAD with redirects followed (up to 10). `Authorization` is sent only to the origin it was
 * meant for: a redirect to another host (blob storage, a CDN) drops it, as docker does.
 */
export async function httpRequest(start: URL, options: HttpRequestOptions = {}): Promise<HttpResponse> {
  let url = start;
  const headers: Record<string, string> = { ...options.headers };
  for (let hop = 0; ; hop++) {
    const response = await once(url, options, headers);
    if (![301, 302, 303, 307, 308].includes(response.status)) return response;
    response.body.resume();
    const location = response.headers.location;
    if (!location)
      throw new OciError(OciErrorCode.RegistryError, `${url.host} redirected without a Location`);
    if (hop >= MAX_REDIRECTS)
      throw new OciError(OciErrorCode.RegistryError, `${start.host}: more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, url);
    if (
      next.protocol !== 'https:' &&
      !(next.protocol === 'http:' && (options.allowHttp || url.protocol === 'http:'))
    ) {
      throw new OciError(
        OciErrorCode.RegistryError,
        `${url.host} redirected to a ${next.protocol} URL, refused`,
      );
    }
    if (next.host !== url.host) delete headers['authorization'];
    url = next;
  }
}

/**
 * Reads a whole body, refusing more than `maxBytes` — both by `Content-Length` up front and while
 * reading — so a hostile registry cannot make the reader buffer without bound.
 */
export async function readBody(response: HttpResponse, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(response.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.body.destroy();
    throw new OciError(
      OciErrorCode.TooLarge,
      `${what} is ${declared} bytes, more than the ${maxBytes} allowed`,
    );
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        response.body.destroy();
        throw new OciError(OciErrorCode.TooLarge, `${what} is more than the ${maxBytes} bytes allowed`);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof OciError) throw error;
    throw new OciError(OciErrorCode.Network, `reading ${what} failed: ${messageOf(error)}`, {
      cause: error,
      retryable: true,
    });
  }
  return Buffer.concat(chunks, total);
}

/** Drains and discards a body so its connection can be reused. */
export function discard(response: HttpResponse): void {
  response.body.resume();
}
