import { type Digest, isDigest } from './digest.js';
import { OciError, OciErrorCode } from './errors.js';

/** Docker Hub's name in references; its registry API lives at {@link DOCKER_HUB_REGISTRY}. */
export const DOCKER_HUB = 'docker.io';
/** The host of Docker Hub's registry API. */
export const DOCKER_HUB_REGISTRY = 'registry-1.docker.io';

/** An image reference, normalised as docker normalises it. */
export interface ImageReference {
  /** Registry host with optional port, e.g. `docker.io`, `localhost:5000`. */
  readonly registry: string;
  /** Repository path, e.g. `library/golang`. */
  readonly repository: string;
  /** The tag; `latest` when neither tag nor digest was given. */
  readonly tag: string | undefined;
  readonly digest: Digest | undefined;
}

// distribution/reference's grammar (reference/regexp.go), anchored piece by piece.
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|${IPV6})(?::[0-9]+)?$`);
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const NAME_MAX = 255;

function invalid(input: string, why: string): OciError {
  return new OciError(OciErrorCode.InvalidReference, `invalid reference "${input.slice(0, 300)}": ${why}`);
}

/**
 * Parses an image reference exactly as docker does (distribution/reference's
 * `ParseNormalizedNamed`): `golang` is `docker.io/library/golang:latest`, `host:5000/a/b:tag`,
 * `name@sha256:…` and `name:tag@sha256:…` keep their parts. Throws `OCI_INVALID_REFERENCE`
 * naming what is wrong.
 *
 * @example
 * parseReference('golang'); // { registry: 'docker.io', repository: 'library/golang', tag: 'latest' }
 */
export function parseReference(input: string): ImageReference {
  if (input.length === 0) throw invalid(input, 'it is empty');
  if (input.length > 1024) throw invalid(input, 'it is longer than 1024 characters');
  let rest = input;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const candidate = rest.slice(at + 1);
    if (!isDigest(candidate)) {
      throw invalid(input, `"${candidate.slice(0, 80)}" is not a sha256 digest (sha256:<64 hex digits>)`);
    }
    digest = candidate;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) {
      throw invalid(
        input,
        `tag "${tag.slice(0, 140)}" must be 1-128 of letters, digits, "_", "." and "-", not starting with "." or "-"`,
      );
    }
  }
  if (rest === '') throw invalid(input, 'it has no repository name');
  let registry: string;
  let path: string;
  const slash = rest.indexOf('/');
  const first = slash < 0 ? '' : rest.slice(0, slash);
  if (
    slash < 0 ||
    (!first.includes('.') && !first.includes(':') && first !== 'localhost' && first.toLowerCase() === first)
  ) {
    registry = DOCKER_HUB;
    path = rest;
  } else {
    registry = first;
    path = rest.slice(slash + 1);
  }
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (!DOMAIN.test(registry)) throw invalid(input, `"${registry}" is not a valid registry host`);
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  if (path !== path.toLowerCase()) throw invalid(input, 'repository name must be lowercase');
  for (const component of path.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      throw invalid(
        input,
        `path component "${component.slice(0, 80)}" must be lowercase letters and digits, separated by ".", "_", "__" or "-"`,
      );
    }
  }
  if (registry.length + 1 + path.length > NAME_MAX)
    throw invalid(input, `the name is longer than ${NAME_MAX} characters`);
  return { registry, repository: path, tag: tag ?? (digest ? undefined : 'latest'), digest };
}

/** The full name: `docker.io/library/golang`. */
export function referenceName(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}`;
}

/** The normalised string form: `docker.io/library/golang:latest`, `…@sha256:…`, or both. */
export function formatReference(ref: ImageReference): string {
  return `${referenceName(ref)}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/**
 * The short form docker shows: `golang:latest` for official images, `user/app:1` for other Docker
 * Hub images, the full name elsewhere.
 */
export function familiarReference(ref: ImageReference): string {
  const name =
    ref.registry === DOCKER_HUB
      ? ref.repository.startsWith('library/')
        ? ref.repository.slice(8)
        : ref.repository
      : referenceName(ref);
  return `${name}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** The same reference pinned to a digest (a tag, if any, is kept for display). */
export function withDigest(ref: ImageReference, digest: Digest): ImageReference {
  return { ...ref, digest };
}
