import { createHash } from 'node:crypto';

/**
 * The digest an idempotent create is recognised by: SHA-256 of the request as the caller gave it,
 * defaults applied and keys sorted, so `{"ide":true}` and `{}` are the same request but a generated
 * name or a chosen node (which differ between retries) are not part of it.
 */
export function requestDigest(request: unknown): string {
  return createHash('sha256').update(canonicalJson(request)).digest('hex');
}

/** JSON with object keys sorted and `undefined` members left out, so equal values serialise equally. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
