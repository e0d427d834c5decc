import { open, rename } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes a file so that readers see either the old content or all of the new: a temp file (in
 * `tempDir`, default the target's directory; same filesystem), fsync, rename over the target.
 *
 * @example
 * await writeFileAtomic('/var/lib/lxr/images/refs/ab….json', JSON.stringify(ref));
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  options: { readonly mode?: number; readonly tempDir?: string } = {},
): Promise<void> {
  const temp = path.join(
    options.tempDir ?? path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`,
  );
  const fh = await open(temp, 'w', options.mode ?? 0o644);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(temp, target);
}
