import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A file the console serves, held in memory (the whole console is a few hundred KiB). */
export interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

export interface ConsoleAssets {
  /** `index.html`. */
  readonly page: Asset;
  /** The console's own scripts and styles, by file name. */
  readonly assets: ReadonlyMap<string, Asset>;
  /** xterm.js and its fit addon, from node_modules. */
  readonly vendor: ReadonlyMap<string, Asset>;
}

/** `services/api-gateway/console/`, from `dist/console/` or `src/console/`. */
const DEFAULT_DIR = fileURLToPath(new URL('../../console/', import.meta.url));

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The npm packages' files the console loads, under the names it asks for. */
const VENDOR: Readonly<Record<string, [pkg: string, file: string]>> = {
  'xterm.mjs': ['@xterm/xterm', 'lib/xterm.mjs'],
  'xterm.css': ['@xterm/xterm', 'css/xterm.css'],
  'addon-fit.mjs': ['@xterm/addon-fit', 'lib/addon-fit.mjs'],
};

const loaded = new Map<string, Promise<ConsoleAssets>>();

/**
 * Reads the console's files once per process: only these names are ever served, so no request
 * path reaches the file system.
 */
export function loadConsoleAssets(dir = DEFAULT_DIR): Promise<ConsoleAssets> {
  let assets = loaded.get(dir);
  if (!assets) {
    assets = readConsoleAssets(dir);
    loaded.set(dir, assets);
    assets.catch(() => loaded.delete(dir));
  }
  return assets;
}

async function readConsoleAssets(dir: string): Promise<ConsoleAssets> {
  const assets = new Map<string, Asset>();
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const type = TYPES[path.extname(entry.name)];
    if (entry.isFile() && type && entry.name !== 'index.html') {
      assets.set(entry.name, asset(await readFile(path.join(dir, entry.name)), type));
    }
  }
  const require = createRequire(import.meta.url);
  const vendor = new Map<string, Asset>();
  for (const [name, [pkg, file]] of Object.entries(VENDOR)) {
    const root = path.dirname(require.resolve(`${pkg}/package.json`));
    const body = stripSourceMap(await readFile(path.join(root, file)));
    vendor.set(name, asset(body, TYPES[path.extname(name)]!));
  }
  const page = asset(await readFile(path.join(dir, 'index.html')), TYPES['.html']!);
  return { page, assets, vendor };
}

function asset(body: Buffer, type: string): Asset {
  const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
  return { body, type, etag };
}

/** The `.map` files are not served; without the comment browsers do not ask for them. */
function stripSourceMap(body: Buffer): Buffer {
  return Buffer.from(body.toString('utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n'));
}
