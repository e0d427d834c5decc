import { execFile as execFileCb, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

const execFile = promisify(execFileCb);

/** How a test layer is compressed. */
export type TestCompression = 'gzip' | 'zstd' | 'none';
/** Docker (schema 2) or OCI media types. */
export type TestImageFormat = 'docker' | 'oci';

/** A layer blob built by a test, with its digests. */
export interface TestLayer {
  readonly blob: Buffer;
  readonly digest: string;
  readonly diffId: string;
  readonly mediaType: string;
  readonly size: number;
}

/** A platform of a test image. */
export interface TestPlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** An image built by a test: manifest, config and layers, ready to push. */
export interface TestImage {
  readonly manifest: Buffer;
  readonly digest: string;
  readonly mediaType: string;
  readonly config: Buffer;
  readonly configDigest: string;
  readonly layers: readonly TestLayer[];
  readonly platform: TestPlatform;
}

/** An image index (or Docker manifest list) over several test images. */
export interface TestIndex {
  readonly index: Buffer;
  readonly digest: string;
  readonly mediaType: string;
  readonly images: readonly TestImage[];
}

const MEDIA = {
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: { gzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip', zstd: '', none: '' },
  },
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    index: 'application/vnd.oci.image.index.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: {
      gzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
      zstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
      none: 'application/vnd.oci.image.layer.v1.tar',
    },
  },
} as const;

/** `sha256:<hex>` of bytes. */
export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** GNU tar's flags for reproducible archives: sorted, root-owned, mtime 0. */
const REPRODUCIBLE_TAR = ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0'];

/** A reproducible tar of a directory's contents (GNU tar: sorted, root-owned, mtime 0). */
export async function tarDirectory(dir: string): Promise<Buffer> {
  const { stdout } = await execFile('tar', [...REPRODUCIBLE_TAR, '-C', dir, '-cf', '-', '.'], {
    encoding: 'buffer',
    maxBuffer: 4 * 1024 ** 3,
  });
  return stdout;
}

/** Runs a command with `input` on its stdin and answers its stdout, failing unless it exits 0. */
function pipeThrough(command: string, args: readonly string[], input: string | Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`${command} exited ${code}`)),
    );
    child.stdin.end(input);
  });
}

/**
 * A reproducible tar of some regular files of the host (paths relative to `/`), e.g. to make
 * benchmark layers of realistic content from installed Debian packages.
 */
export async function tarHostFiles(paths: readonly string[]): Promise<Buffer> {
  return pipeThrough(
    'tar',
    [...REPRODUCIBLE_TAR, '--null', '-C', '/', '-cf', '-', '-T', '-'],
    paths.map((p) => `${p}\0`).join(''),
  );
}

/**
 * Regular files under a host directory, in name order, until their sizes add up to `maxBytes`;
 * files larger than `maxFileBytes` are passed over (one 300 MB binary is not a realistic layer).
 */
export async function hostFiles(dir: string, maxBytes: number, maxFileBytes = Infinity): Promise<string[]> {
  const picked: string[] = [];
  let total = 0;
  const walk = async (d: string): Promise<void> => {
    const entries = (await readdir(d, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    for (const entry of entries) {
      if (total >= maxBytes) return;
      const full = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) {
        const { size } = await stat(full);
        if (size > maxFileBytes) continue;
        picked.push(path.relative('/', full));
        total += size;
      }
    }
  };
  await walk(dir);
  return picked;
}

/** Compresses with node's gzip or the `zstd` command (Debian's zstd package). */
export async function compress(data: Buffer, compression: TestCompression): Promise<Buffer> {
  if (compression === 'none') return data;
  if (compression === 'gzip') return gzipSync(data, { level: 6 });
  return pipeThrough('zstd', ['-q', '-3', '-c', '-T0'], data);
}

/** A layer from a tar: compressed, with digest and diffID. */
export async function makeLayer(
  tar: Buffer,
  compression: TestCompression,
  format: TestImageFormat = 'oci',
): Promise<TestLayer> {
  const mediaType = MEDIA[format].layer[compression];
  if (!mediaType) throw new Error(`Docker media types have no ${compression} layer; use format 'oci'`);
  const blob = await compress(tar, compression);
  return { blob, digest: sha256(blob), diffId: sha256(tar), mediaType, size: blob.length };
}

/** Writes busybox-static (`/bin/busybox`) and its common applets as a root filesystem into `dir`. */
export async function busyboxRootfs(
  dir: string,
  applets = ['sh', 'ls', 'cat', 'echo', 'env', 'sleep', 'true', 'false', 'id', 'hostname', 'ps', 'wget'],
): Promise<void> {
  await mkdir(path.join(dir, 'bin'), { recursive: true });
  await mkdir(path.join(dir, 'etc'), { recursive: true });
  await copyFile('/bin/busybox', path.join(dir, 'bin', 'busybox'));
  await chmod(path.join(dir, 'bin', 'busybox'), 0o755);
  for (const applet of applets) await symlink('busybox', path.join(dir, 'bin', applet));
  await writeFile(
    path.join(dir, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n',
  );
  await writeFile(path.join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
}

/** Where downloaded .debs are kept between runs (they never change for a version). */
const DEB_CACHE = path.join(tmpdir(), 'lxr-testkit-debs');

/**
 * Unpacks Debian packages (fetched once with `apt-get download` into a cache dir) into `dir`, as a
 * layer's contents.
 */
export async function debRootfs(dir: string, packages: readonly string[]): Promise<void> {
  await mkdir(DEB_CACHE, { recursive: true });
  await mkdir(dir, { recursive: true });
  for (const name of packages) {
    let debs = (await readdir(DEB_CACHE)).filter((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
    if (debs.length === 0) {
      await execFile('apt-get', ['download', '-q', name], { cwd: DEB_CACHE });
      debs = (await readdir(DEB_CACHE)).filter((f) => f.startsWith(`${name}_`) && f.endsWith('.deb'));
    }
    if (!debs[0]) throw new Error(`apt-get download ${name} left no .deb in ${DEB_CACHE}`);
    await execFile('dpkg-deb', ['-x', path.join(DEB_CACHE, debs[0]), dir]);
  }
}

/** A layer made by `fill`, which writes files into a fresh temp dir. */
export async function layerFrom(
  fill: (dir: string) => Promise<void>,
  compression: TestCompression,
  format: TestImageFormat = 'oci',
): Promise<TestLayer> {
  const dir = await mkdtemp(path.join(tmpdir(), 'lxr-layer-'));
  try {
    await fill(dir);
    return await makeLayer(await tarDirectory(dir), compression, format);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What goes into a test image's config. */
export interface TestImageOptions {
  readonly format?: TestImageFormat;
  readonly platform?: TestPlatform;
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
  readonly workingDir?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Overrides the diffIDs in the config (for tests of a lying config). */
  readonly diffIds?: readonly string[];
}

/** Builds an image's config and manifest over layers. */
export function makeImage(layers: readonly TestLayer[], options: TestImageOptions = {}): TestImage {
  const format = options.format ?? 'oci';
  const platform = options.platform ?? { os: 'linux', architecture: 'amd64' };
  const config = Buffer.from(
    JSON.stringify({
      created: '2026-01-01T00:00:00Z',
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: {
        Env: options.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Cmd: options.cmd ?? ['sh'],
        ...(options.entrypoint ? { Entrypoint: options.entrypoint } : {}),
        ...(options.workingDir ? { WorkingDir: options.workingDir } : {}),
        ...(options.labels ? { Labels: options.labels } : {}),
      },
      rootfs: { type: 'layers', diff_ids: options.diffIds ?? layers.map((l) => l.diffId) },
      history: layers.map(() => ({ created: '2026-01-01T00:00:00Z', created_by: 'lxr testkit' })),
    }),
  );
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA[format].manifest,
      config: { mediaType: MEDIA[format].config, digest: configDigest, size: config.length },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  return {
    manifest,
    digest: sha256(manifest),
    mediaType: MEDIA[format].manifest,
    config,
    configDigest,
    layers,
    platform,
  };
}

/** An index (OCI) or manifest list (Docker) over images of several platforms. */
export function makeIndex(images: readonly TestImage[], format: TestImageFormat = 'oci'): TestIndex {
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA[format].index,
      manifests: images.map((i) => ({
        mediaType: i.mediaType,
        digest: i.digest,
        size: i.manifest.length,
        platform: i.platform,
      })),
    }),
  );
  return { index, digest: sha256(index), mediaType: MEDIA[format].index, images };
}

async function check(response: Response, what: string): Promise<Response> {
  if (!response.ok)
    throw new Error(`${what}: HTTP ${response.status} ${(await response.text()).slice(0, 300)}`);
  return response;
}

/** Uploads a blob unless the registry has it (monolithic upload: POST, then PUT with the digest). */
export async function pushBlob(
  registry: string,
  repository: string,
  blob: Buffer,
  digest = sha256(blob),
): Promise<void> {
  const base = `http://${registry}/v2/${repository}`;
  if ((await fetch(`${base}/blobs/${digest}`, { method: 'HEAD' })).ok) return;
  const started = await check(
    await fetch(`${base}/blobs/uploads/`, { method: 'POST' }),
    `start upload to ${repository}`,
  );
  const location = new URL(started.headers.get('location')!, `http://${registry}`);
  location.searchParams.set('digest', digest);
  await check(
    await fetch(location, {
      method: 'PUT',
      body: blob,
      headers: { 'content-type': 'application/octet-stream' },
    }),
    `upload ${digest} to ${repository}`,
  );
}

/** Puts a manifest or index under a tag or digest. */
export async function pushManifest(
  registry: string,
  repository: string,
  reference: string,
  bytes: Buffer,
  mediaType: string,
): Promise<void> {
  await check(
    await fetch(`http://${registry}/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      body: bytes,
      headers: { 'content-type': mediaType },
    }),
    `put manifest ${repository}:${reference}`,
  );
}

/** Pushes an image or an index with all it names to a plain-HTTP registry (`host:port`). */
export async function pushImage(
  registry: string,
  repository: string,
  tag: string | undefined,
  image: TestImage | TestIndex,
): Promise<void> {
  const images = 'images' in image ? image.images : [image];
  for (const i of images) {
    await Promise.all(i.layers.map((l) => pushBlob(registry, repository, l.blob, l.digest)));
    await pushBlob(registry, repository, i.config, i.configDigest);
    await pushManifest(registry, repository, i.digest, i.manifest, i.mediaType);
  }
  if ('images' in image) await pushManifest(registry, repository, image.digest, image.index, image.mediaType);
  const top = 'images' in image ? image.index : image.manifest;
  if (tag) await pushManifest(registry, repository, tag, top, image.mediaType);
}
