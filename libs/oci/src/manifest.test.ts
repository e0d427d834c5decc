import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OciError } from './errors.js';
import { parseImageConfig, parseManifestDocument, selectPlatform } from './manifest.js';
import { MediaType } from './media-types.js';
import { hostPlatform, normalizePlatform, parsePlatform, platformMatches } from './platform.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const codeOf = (code: string) => (error: unknown) => error instanceof OciError && error.code === code;

const index = {
  schemaVersion: 2,
  mediaType: MediaType.OciIndex,
  manifests: [
    {
      mediaType: MediaType.OciManifest,
      digest: d('1'),
      size: 10,
      platform: { os: 'linux', architecture: 'amd64' },
    },
    {
      mediaType: MediaType.OciManifest,
      digest: d('2'),
      size: 10,
      platform: { os: 'linux', architecture: 'arm', variant: 'v6' },
    },
    {
      mediaType: MediaType.OciManifest,
      digest: d('3'),
      size: 10,
      platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
    },
    {
      mediaType: MediaType.OciManifest,
      digest: d('4'),
      size: 10,
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    },
    {
      mediaType: MediaType.OciManifest,
      digest: d('5'),
      size: 10,
      platform: { os: 'unknown', architecture: 'unknown' },
    },
  ],
};

test('an index picks the manifest of the wanted platform', () => {
  const doc = parseManifestDocument(json(index), MediaType.OciIndex);
  assert.equal(doc.kind, 'index');
  if (doc.kind !== 'index') return;
  assert.equal(selectPlatform(doc, parsePlatform('linux/amd64')).digest, d('1'));
  assert.equal(selectPlatform(doc, parsePlatform('linux/arm/v7')).digest, d('3'));
  assert.equal(selectPlatform(doc, parsePlatform('linux/armhf')).digest, d('3'));
  assert.equal(selectPlatform(doc, parsePlatform('linux/arm64')).digest, d('4'));
  assert.equal(selectPlatform(doc, parsePlatform('linux/aarch64')).digest, d('4'));
  assert.throws(
    () => selectPlatform(doc, parsePlatform('linux/s390x')),
    (e: unknown) => {
      return (
        codeOf('OCI_NO_MATCHING_PLATFORM')(e) &&
        /linux\/amd64, linux\/arm\/v6/.test((e as Error).message) &&
        !/unknown/.test((e as Error).message)
      );
    },
  );
});

test('platforms normalise and match as containerd does', () => {
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'x86_64' }), {
    os: 'linux',
    architecture: 'amd64',
  });
  assert.ok(
    platformMatches(
      { os: 'linux', architecture: 'arm64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
    ),
  );
  assert.ok(
    !platformMatches(
      { os: 'linux', architecture: 'arm', variant: 'v7' },
      { os: 'linux', architecture: 'arm', variant: 'v6' },
    ),
  );
  assert.ok(
    !platformMatches({ os: 'linux', architecture: 'amd64' }, { os: 'windows', architecture: 'amd64' }),
  );
  assert.throws(() => parsePlatform('linux'), codeOf('OCI_INVALID_PLATFORM'));
  assert.throws(() => parsePlatform('linux/amd64/v2/x'), codeOf('OCI_INVALID_PLATFORM'));
  assert.equal(hostPlatform().os, 'linux');
});

test('manifests: media type from the header or the document, layers checked', () => {
  const manifest = {
    schemaVersion: 2,
    mediaType: MediaType.DockerManifest,
    config: { mediaType: MediaType.DockerConfig, digest: d('c'), size: 100 },
    layers: [{ mediaType: MediaType.DockerLayerGzip, digest: d('a'), size: 5 }],
  };
  const doc = parseManifestDocument(
    json(manifest),
    'application/vnd.docker.distribution.manifest.v2+json; charset=utf-8',
  );
  assert.equal(doc.kind, 'manifest');
  assert.equal(parseManifestDocument(json(manifest), undefined).mediaType, MediaType.DockerManifest);
  assert.throws(
    () =>
      parseManifestDocument(
        json({ ...manifest, layers: [{ mediaType: 'application/x-foo', digest: d('a'), size: 1 }] }),
        undefined,
      ),
    codeOf('OCI_UNSUPPORTED_MEDIA_TYPE'),
  );
  assert.throws(
    () => parseManifestDocument(json({ ...manifest, schemaVersion: 1 }), undefined),
    codeOf('OCI_UNSUPPORTED_MEDIA_TYPE'),
  );
  assert.throws(
    () => parseManifestDocument(Buffer.from('{not json'), undefined),
    codeOf('OCI_INVALID_MANIFEST'),
  );
  assert.throws(
    () =>
      parseManifestDocument(
        json({ ...manifest, config: { ...manifest.config, digest: 'sha512:abc' } }),
        undefined,
      ),
    codeOf('OCI_INVALID_DIGEST'),
  );
  assert.throws(
    () =>
      parseManifestDocument(
        json({ ...manifest, config: { ...manifest.config, size: 64 * 1024 * 1024 } }),
        undefined,
      ),
    codeOf('OCI_TOO_LARGE'),
  );
  assert.throws(
    () =>
      parseManifestDocument(json({ ...manifest, layers: Array(501).fill(manifest.layers[0]) }), undefined),
    codeOf('OCI_TOO_LARGE'),
  );
  assert.throws(
    () => parseManifestDocument(json(manifest), MediaType.OciManifest),
    codeOf('OCI_INVALID_MANIFEST'),
  );
});

test('the image config yields diffIDs and the runtime settings', () => {
  const config = parseImageConfig(
    json({
      architecture: 'amd64',
      os: 'linux',
      config: {
        Entrypoint: ['/entry'],
        Cmd: ['run'],
        Env: ['A=1'],
        WorkingDir: '/w',
        User: '1000:1000',
        ExposedPorts: { '8080/tcp': {}, '53/udp': {} },
        Volumes: { '/data': {} },
        Labels: { a: 'b' },
        StopSignal: 'SIGINT',
      },
      rootfs: { type: 'layers', diff_ids: [d('e')] },
    }),
  );
  assert.deepEqual(config.diffIds, [d('e')]);
  assert.deepEqual(config.runtime, {
    entrypoint: ['/entry'],
    cmd: ['run'],
    env: ['A=1'],
    workingDir: '/w',
    user: '1000:1000',
    exposedPorts: ['53/udp', '8080/tcp'],
    volumes: ['/data'],
    labels: { a: 'b' },
    stopSignal: 'SIGINT',
  });
  assert.throws(
    () => parseImageConfig(json({ architecture: 'amd64', os: 'linux' })),
    codeOf('OCI_INVALID_MANIFEST'),
  );
  assert.throws(
    () =>
      parseImageConfig(
        json({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [1] } }),
      ),
    codeOf('OCI_INVALID_MANIFEST'),
  );
});
