import { type Digest, parseDigest } from './digest.js';
import { OciError, OciErrorCode } from './errors.js';
import { isIndexMediaType, isManifestMediaType, layerCompression, MediaType } from './media-types.js';
import { normalizePlatform, type Platform, platformMatches } from './platform.js';

/** Largest manifest or index read (containerd's limit too). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Largest image config read. */
export const MAX_CONFIG_BYTES = 8 * 1024 * 1024;
/** Most layers an image may have (the kernel's overlayfs stacks far fewer). */
export const MAX_LAYERS = 500;
/** Largest single layer blob accepted: 64 GiB. */
export const MAX_LAYER_BYTES = 64 * 1024 ** 3;

/** A content descriptor: what a document points at. */
export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly platform?: Platform;
  readonly urls?: readonly string[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** An OCI image index or Docker manifest list. */
export interface ImageIndex {
  readonly kind: 'index';
  readonly mediaType: string;
  readonly manifests: readonly Descriptor[];
}

/** An OCI image manifest or Docker schema 2 manifest. */
export interface ImageManifest {
  readonly kind: 'manifest';
  readonly mediaType: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
}

/** What a container runs, from the image config's `config` (docker's field names, camel-cased). */
export interface RuntimeConfig {
  readonly entrypoint?: readonly string[];
  readonly cmd?: readonly string[];
  readonly env?: readonly string[];
  readonly workingDir?: string;
  readonly user?: string;
  readonly exposedPorts?: readonly string[];
  readonly volumes?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly stopSignal?: string;
}

/** The parts of an image config the store needs. */
export interface ImageConfig {
  readonly platform: Platform;
  readonly diffIds: readonly Digest[];
  readonly runtime: RuntimeConfig;
  readonly created?: string;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(what: string, why: string): OciError {
  return new OciError(OciErrorCode.InvalidManifest, `${what} is invalid: ${why}`);
}

function parseJson(bytes: Uint8Array, what: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (error) {
    throw new OciError(OciErrorCode.InvalidManifest, `${what} is not valid JSON`, { cause: error });
  }
  if (!isObject(value)) throw bad(what, 'not a JSON object');
  return value;
}

function stringRecord(value: unknown, what: string): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw bad(what, 'not an object');
  for (const [k, v] of Object.entries(value))
    if (typeof v !== 'string') throw bad(what, `"${k}" is not a string`);
  return value as Record<string, string>;
}

function parsePlatformField(value: unknown, what: string): Platform | undefined {
  if (value === undefined) return undefined;
  if (!isObject(value) || typeof value['os'] !== 'string' || typeof value['architecture'] !== 'string') {
    throw bad(what, 'platform needs string "os" and "architecture"');
  }
  const variant =
    typeof value['variant'] === 'string' && value['variant'] !== '' ? value['variant'] : undefined;
  return normalizePlatform({
    os: value['os'],
    architecture: value['architecture'],
    ...(variant ? { variant } : {}),
  });
}

function parseDescriptor(value: unknown, what: string): Descriptor {
  if (!isObject(value)) throw bad(what, 'not an object');
  const { mediaType, digest, size, urls } = value;
  if (typeof mediaType !== 'string' || mediaType.length > 255) throw bad(what, 'no string "mediaType"');
  if (typeof digest !== 'string') throw bad(what, 'no string "digest"');
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    throw bad(what, '"size" is not a non-negative integer');
  const platform = parsePlatformField(value['platform'], what);
  const annotations = stringRecord(value['annotations'], `${what}.annotations`);
  return {
    mediaType,
    digest: parseDigest(digest, `${what}.digest`),
    size,
    ...(platform ? { platform } : {}),
    ...(Array.isArray(urls) ? { urls: urls.filter((u): u is string => typeof u === 'string') } : {}),
    ...(annotations ? { annotations } : {}),
  };
}

/**
 * Parses a manifest or index a registry served, by the media type it said (`Content-Type`) or, when
 * that is missing or generic, by the document's own `mediaType` and shape.
 */
export function parseManifestDocument(
  bytes: Uint8Array,
  contentType: string | undefined,
): ImageIndex | ImageManifest {
  const doc = parseJson(bytes, 'manifest');
  if (doc['schemaVersion'] !== 2) {
    throw new OciError(
      OciErrorCode.UnsupportedMediaType,
      `manifest schemaVersion ${String(doc['schemaVersion'])} is not supported (only schema 2 and OCI)`,
    );
  }
  const declared = typeof doc['mediaType'] === 'string' ? doc['mediaType'] : undefined;
  const header = contentType?.split(';')[0]?.trim();
  const known = (t: string | undefined) => t !== undefined && (isIndexMediaType(t) || isManifestMediaType(t));
  const mediaType = known(header)
    ? header!
    : known(declared)
      ? declared!
      : Array.isArray(doc['manifests'])
        ? MediaType.OciIndex
        : MediaType.OciManifest;
  if (declared !== undefined && known(declared) && declared !== mediaType) {
    throw bad('manifest', `its mediaType "${declared}" differs from the served "${mediaType}"`);
  }
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc['manifests'])) throw bad('index', 'no "manifests" array');
    if (doc['manifests'].length > 10_000) throw bad('index', 'more than 10000 manifests');
    return {
      kind: 'index',
      mediaType,
      manifests: doc['manifests'].map((m, i) => parseDescriptor(m, `index.manifests[${i}]`)),
    };
  }
  if (!Array.isArray(doc['layers'])) throw bad('manifest', 'no "layers" array');
  if (doc['layers'].length > MAX_LAYERS) {
    throw new OciError(
      OciErrorCode.TooLarge,
      `manifest has ${doc['layers'].length} layers, more than ${MAX_LAYERS}`,
    );
  }
  const config = parseDescriptor(doc['config'], 'manifest.config');
  if (config.size > MAX_CONFIG_BYTES) {
    throw new OciError(
      OciErrorCode.TooLarge,
      `image config is ${config.size} bytes, more than ${MAX_CONFIG_BYTES}`,
    );
  }
  const layers = doc['layers'].map((l, i) => {
    const layer = parseDescriptor(l, `manifest.layers[${i}]`);
    if (layerCompression(layer.mediaType) === undefined) {
      throw new OciError(
        OciErrorCode.UnsupportedMediaType,
        `layer ${i} (${layer.digest}) has unsupported media type "${layer.mediaType}"`,
      );
    }
    if (layer.size > MAX_LAYER_BYTES) {
      throw new OciError(
        OciErrorCode.TooLarge,
        `layer ${i} (${layer.digest}) is ${layer.size} bytes, more than ${MAX_LAYER_BYTES}`,
      );
    }
    return layer;
  });
  return { kind: 'manifest', mediaType, config, layers };
}

function stringList(value: unknown, what: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw bad(what, 'not a list of strings');
  return value as string[];
}

/** Parses an image config: platform, diffIDs and the runtime settings a container starts from. */
export function parseImageConfig(bytes: Uint8Array): ImageConfig {
  const doc = parseJson(bytes, 'image config');
  const platform = parsePlatformField(doc, 'image config');
  if (!platform) throw bad('image config', 'no "os"/"architecture"');
  const rootfs = doc['rootfs'];
  if (!isObject(rootfs) || rootfs['type'] !== 'layers' || !Array.isArray(rootfs['diff_ids'])) {
    throw bad('image config', 'rootfs must be {"type":"layers","diff_ids":[…]}');
  }
  const diffIds = rootfs['diff_ids'].map((d, i) => {
    if (typeof d !== 'string') throw bad('image config', `rootfs.diff_ids[${i}] is not a string`);
    return parseDigest(d, `image config rootfs.diff_ids[${i}]`);
  });
  const c = isObject(doc['config']) ? doc['config'] : {};
  const str = (k: string) => (typeof c[k] === 'string' && c[k] !== '' ? (c[k] as string) : undefined);
  const keys = (k: string) => (isObject(c[k]) ? Object.keys(c[k]).sort() : undefined);
  const runtime: Record<string, unknown> = {
    entrypoint: stringList(c['Entrypoint'], 'config.Entrypoint'),
    cmd: stringList(c['Cmd'], 'config.Cmd'),
    env: stringList(c['Env'], 'config.Env'),
    workingDir: str('WorkingDir'),
    user: str('User'),
    exposedPorts: keys('ExposedPorts'),
    volumes: keys('Volumes'),
    labels: stringRecord(c['Labels'], 'config.Labels'),
    stopSignal: str('StopSignal'),
  };
  for (const k of Object.keys(runtime)) if (runtime[k] === undefined) delete runtime[k];
  return {
    platform,
    diffIds,
    runtime: runtime as RuntimeConfig,
    ...(typeof doc['created'] === 'string' ? { created: doc['created'] } : {}),
  };
}

/**
 * Picks the manifest for `wanted` from an index: the first exact match, preferring an exact variant
 * over a variant-less entry; attestation manifests (`unknown/unknown`) are never chosen.
 */
export function selectPlatform(index: ImageIndex, wanted: Platform): Descriptor {
  const candidates = index.manifests.filter(
    (m) => isManifestMediaType(m.mediaType) && m.platform && platformMatches(wanted, m.platform),
  );
  const w = normalizePlatform(wanted);
  const exact = candidates.find((m) => m.platform?.variant === w.variant);
  const chosen = exact ?? candidates[0];
  if (!chosen) {
    const offered = index.manifests
      .filter((m) => m.platform && m.platform.os !== 'unknown')
      .map(
        (m) =>
          `${m.platform!.os}/${m.platform!.architecture}${m.platform!.variant ? `/${m.platform!.variant}` : ''}`,
      );
    throw new OciError(
      OciErrorCode.NoMatchingPlatform,
      `no manifest for platform ${w.os}/${w.architecture}${w.variant ? `/${w.variant}` : ''} in the index (it has: ${offered.join(', ') || 'none'}); pick one with --platform`,
    );
  }
  return chosen;
}
