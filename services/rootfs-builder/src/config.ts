import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { field } from '@lxr/service-kit';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/**
 * The rootfs-builder's own variables (besides the common ones):
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `LXR_DATABASE_URL` | required | the event log |
 * | `LXR_NATIVE_DIR` | `native/build` | where `lxr-mount` is |
 * | `LXR_UNPACK_CONCURRENCY` | 4 | layers of one image unpacked at once |
 * | `LXR_UNPACK_PIPELINING` | true | unpack each layer as soon as the image-puller has stored it (`ImagePullResolved`), not after `ImagePulled` |
 */
export const rootfsConfigSpec = {
  databaseUrl: field.url('LXR_DATABASE_URL', {
    secret: true,
    protocols: ['postgres:', 'postgresql:'],
    description: 'the PostgreSQL URL of the event log',
  }),
  nativeDir: field.string('LXR_NATIVE_DIR', {
    default: path.join(repo, 'native/build'),
    description: 'where lxr-mount is',
  }),
  unpackConcurrency: field.integer('LXR_UNPACK_CONCURRENCY', { default: 4, min: 1, max: 32 }),
  pipelining: field.boolean('LXR_UNPACK_PIPELINING', { default: true }),
};
