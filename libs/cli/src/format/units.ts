import { UsageError } from '../errors.js';

const UNITS: Record<string, number> = {
  b: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  t: 1024 ** 4,
  p: 1024 ** 5,
};

/**
 * A size as docker's `--memory` takes it (`RAMInBytes`): a number with an optional unit b, k, m,
 * g, t or p (binary multiples, case-insensitive, optional trailing `b` as in `512mb`).
 */
export function parseBytes(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgtp])?b?$/i.exec(text.trim());
  if (!match)
    throw new UsageError(
      `invalid argument "${text}" for "${flag}" flag: invalid size: '${text}' (e.g. 512m, 2g)`,
    );
  const bytes = Math.floor(Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()]!);
  return bytes;
}

/** docker's sizes: decimal units, 3 significant digits (`1.23MB`). */
export function humanSize(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${
    unit === 0
      ? value
      : value
          .toPrecision(3)
          .replace(/(\.\d*?)0+$/, '$1')
          .replace(/\.$/, '')
  }${units[unit]}`;
}
