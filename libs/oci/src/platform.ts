import { OciError, OciErrorCode } from './errors.js';

/** An image platform as the OCI image index describes one. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

const NODE_ARCH: Readonly<Record<string, string>> = {
  x64: 'amd64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: '386',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64el: 'mips64le',
  loong64: 'loong64',
};

/** This host's platform, in OCI's words (`linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`). */
export function hostPlatform(): Platform {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  const os = process.platform === 'win32' ? 'windows' : process.platform;
  if (architecture === 'arm64') return { os, architecture, variant: 'v8' };
  if (architecture === 'arm') {
    const version = Number((process.config.variables as { arm_version?: string }).arm_version ?? 7);
    return { os, architecture, variant: `v${version}` };
  }
  return { os, architecture };
}

const PLATFORM = /^[a-z0-9_.-]{1,32}\/[a-z0-9_]{1,32}(?:\/[a-z0-9]{1,16})?$/;

/**
 * Parses `--platform`: `os/arch[/variant]`, normalised as containerd normalises (`aarch64` →
 * `arm64`, `x86_64` → `amd64`, `armhf` → `arm/v7`).
 */
export function parsePlatform(text: string): Platform {
  const lower = text.trim().toLowerCase();
  if (!PLATFORM.test(lower)) {
    throw new OciError(
      OciErrorCode.InvalidPlatform,
      `invalid platform "${text.slice(0, 80)}": expected os/architecture[/variant], e.g. linux/arm64`,
    );
  }
  const [os, architecture, variant] = lower.split('/') as [string, string, string | undefined];
  return normalizePlatform({ os, architecture, ...(variant ? { variant } : {}) });
}

/** Canonical names and default variants, so that `linux/arm64` matches `linux/arm64/v8`. */
export function normalizePlatform(p: Platform): Platform {
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  switch (architecture) {
    case 'x86_64':
    case 'x86-64':
      architecture = 'amd64';
      break;
    case 'aarch64':
      architecture = 'arm64';
      break;
    case 'armhf':
      architecture = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      architecture = 'arm';
      variant = 'v6';
      break;
    case 'i386':
    case 'i686':
      architecture = '386';
      break;
  }
  if (architecture === 'arm64' && (variant === undefined || variant === '8')) variant = 'v8';
  if (architecture === 'arm' && variant === undefined) variant = 'v7';
  if (architecture === 'arm' && variant && /^[5-8]$/.test(variant)) variant = `v${variant}`;
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  return { os: p.os.toLowerCase(), architecture, ...(variant ? { variant } : {}) };
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/**
 * True when an image built for `candidate` runs on `wanted`: same OS and architecture and, where
 * the wanted variant is given, the same variant (an amd64 image without variant runs on any amd64).
 */
export function platformMatches(wanted: Platform, candidate: Platform): boolean {
  const w = normalizePlatform(wanted);
  const c = normalizePlatform(candidate);
  if (w.os !== c.os || w.architecture !== c.architecture) return false;
  if (w.architecture === 'amd64') return c.variant === undefined || c.variant === w.variant;
  return w.variant === undefined || c.variant === undefined || w.variant === c.variant;
}
