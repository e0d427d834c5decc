import type { FlagSpec, ParsedArgs } from '../argv.js';
import type { CliContext } from '../context.js';

/** One verb of `lxr`: its flags, its help, and what it does. Add a file and a line in `index.ts`. */
export interface Command {
  readonly name: string;
  /** One line for `lxr --help`. */
  readonly summary: string;
  /** The synopsis after `Usage:`, e.g. `lxr rm CONTAINER [CONTAINER...]`. */
  readonly usage: string;
  /** More text for `lxr VERB --help`. */
  readonly description?: string;
  readonly flags: readonly FlagSpec[];
  /** How many positionals it takes. */
  readonly args: { readonly min: number; readonly max?: number };
  /** Flags end at the first positional (`create IMAGE [CMD...]`). */
  readonly stopAtFirstPositional?: boolean;
  /** Resolves with the exit code. */
  run(ctx: CliContext, args: ParsedArgs): Promise<number>;
}

/** `--format json` for listings. */
export const FORMAT_FLAG: FlagSpec = {
  name: 'format',
  kind: 'string',
  value: 'FORMAT',
  description: "Output format: 'table' (default) or 'json'",
};
