import { type ParsedArgs, stringFlag } from '../argv.js';
import { UsageError } from '../errors.js';

/** The `--format` a listing was asked for. */
export function outputFormat(args: ParsedArgs, allowed: readonly string[] = ['table', 'json']): string {
  const format = stringFlag(args, 'format') ?? allowed[0]!;
  if (!allowed.includes(format)) {
    throw new UsageError(`invalid --format "${format}": use one of ${allowed.join(', ')}`);
  }
  return format;
}

/** One JSON document per line, as `docker ps --format json` prints. */
export function jsonLines(values: readonly unknown[]): string {
  return values.map((v) => JSON.stringify(v) + '\n').join('');
}
