import { field } from '@lxr/service-kit';

/**
 * The image-puller's own variables (besides the common ones):
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `LXR_REGISTRY_MIRRORS` | none | `registry=url[,url…]` pairs separated by `;`, e.g. `docker.io=https://mirror.example` |
 * | `LXR_INSECURE_REGISTRIES` | none | comma-separated registries spoken to over plain HTTP (loopback always is) |
 * | `LXR_PULL_CONCURRENCY` | 4 | layers downloaded at once per pull |
 * | `LXR_PULL_PROGRESS_MS` | 1000 | least time between two progress events of a pull |
 * | `DOCKER_CONFIG` | `~/.docker` | where `config.json` with registry logins is |
 */
export const imagePullerConfigSpec = {
  mirrors: field.string('LXR_REGISTRY_MIRRORS', {
    optional: true,
    pattern: /^[^=;\s]+=[^;\s]+(;[^=;\s]+=[^;\s]+)*$/,
    patternHint: 'registry=url[,url…] pairs separated by ";"',
  }),
  insecureRegistries: field.string('LXR_INSECURE_REGISTRIES', { optional: true }),
  concurrency: field.integer('LXR_PULL_CONCURRENCY', { default: 4, min: 1, max: 32 }),
  progressIntervalMs: field.integer('LXR_PULL_PROGRESS_MS', { default: 1000, min: 50, max: 60_000 }),
  dockerConfig: field.string('DOCKER_CONFIG', {
    optional: true,
    pattern: /^\//,
    patternHint: 'an absolute path',
  }),
};

/** `docker.io=https://a,https://b;quay.io=https://c` → `{ 'docker.io': [...], 'quay.io': [...] }`. */
export function parseMirrors(text: string | undefined): Record<string, string[]> {
  const mirrors: Record<string, string[]> = {};
  for (const pair of (text ?? '').split(';').filter(Boolean)) {
    const [registry, urls] = pair.split('=') as [string, string];
    mirrors[registry] = urls.split(',').filter(Boolean);
  }
  return mirrors;
}
