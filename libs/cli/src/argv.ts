import { UsageError } from './errors.js';

/** One flag a verb accepts. */
export interface FlagSpec {
  /** Long name without dashes: `name` for `--name`. */
  readonly name: string;
  /** One-letter alias: `e` for `-e`. */
  readonly short?: string;
  /** `boolean` takes no value; `string` one; `list` one per occurrence, collected. */
  readonly kind: 'boolean' | 'string' | 'list';
  /** Placeholder in help, e.g. `NAME`, `KEY=VALUE`. */
  readonly value?: string;
  readonly description: string;
  /** Left out of help. */
  readonly hidden?: boolean;
}

/** A parsed flag: a string, a boolean, or the values of a repeated (`list`) flag. */
export type FlagValue = string | boolean | string[];

/** A verb's arguments after parsing: flags by long name, and the positionals in order. */
export interface ParsedArgs {
  readonly flags: Readonly<Record<string, FlagValue | undefined>>;
  readonly positionals: readonly string[];
}

/** How {@link parseArgs} treats positionals. */
export interface ParseOptions {
  /**
   * Stop at the first positional: what follows belongs to it (docker's `create IMAGE [CMD…]`,
   * where `lxr create busybox ls -l` passes `-l` to `ls`).
   */
  readonly stopAtFirstPositional?: boolean;
}

/** `--help`/`-h`, accepted by every verb. */
export const HELP_FLAG: FlagSpec = { name: 'help', short: 'h', kind: 'boolean', description: 'Print usage' };

/**
 * Parses a verb's arguments against its flags, docker style: `--flag value`, `--flag=value`,
 * `-f value`, `-fvalue`, grouped short booleans (`-aq`), `--bool=false`, and `--` to end flags.
 * Throws {@link UsageError} (exit 125) naming the flag at fault.
 *
 * @example
 * parseArgs(['-e', 'A=1', '--name', 'web', 'nginx'], createFlags) // → { flags: { env: ['A=1'], name: 'web' }, positionals: ['nginx'] }
 */
export function parseArgs(
  argv: readonly string[],
  specs: readonly FlagSpec[],
  options: ParseOptions = {},
): ParsedArgs {
  const all = [...specs, HELP_FLAG];
  const byLong = new Map(all.map((s) => [s.name, s]));
  const byShort = new Map(all.filter((s) => s.short).map((s) => [s.short!, s]));
  const flags: Record<string, FlagValue> = {};
  const positionals: string[] = [];

  const set = (spec: FlagSpec, value: string | boolean, shown: string) => {
    if (spec.kind === 'list') {
      const list = (flags[spec.name] as string[] | undefined) ?? [];
      list.push(String(value));
      flags[spec.name] = list;
    } else if (spec.kind === 'boolean' && typeof value === 'string') {
      if (value !== 'true' && value !== 'false') {
        throw new UsageError(`invalid argument "${value}" for "${shown}" flag: expected true or false`);
      }
      flags[spec.name] = value === 'true';
    } else {
      flags[spec.name] = value;
    }
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = arg.slice(2, eq < 0 ? undefined : eq);
      const spec = byLong.get(name);
      if (!spec) throw new UsageError(`unknown flag: --${name}`);
      if (eq >= 0) set(spec, arg.slice(eq + 1), `--${name}`);
      else if (spec.kind === 'boolean') set(spec, true, `--${name}`);
      else if (i + 1 < argv.length) set(spec, argv[++i]!, `--${name}`);
      else throw new UsageError(`flag needs an argument: --${name}`);
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      // A group of shorthands: booleans until one that takes a value, which takes the rest or the next arg.
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const spec = byShort.get(letter);
        if (!spec) throw new UsageError(`unknown shorthand flag: '${letter}' in ${arg}`);
        if (spec.kind === 'boolean') {
          set(spec, true, `-${letter}`);
          continue;
        }
        let value = arg.slice(j + 1);
        if (value.startsWith('=')) value = value.slice(1);
        if (value === '') {
          if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: '${letter}' in -${letter}`);
          value = argv[++i]!;
        }
        set(spec, value, `-${letter}, --${spec.name}`);
        break;
      }
      continue;
    }
    positionals.push(arg);
    if (options.stopAtFirstPositional) {
      positionals.push(...argv.slice(i + 1));
      break;
    }
  }
  return { flags, positionals };
}

/** A string flag's value, if given. */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === 'string' ? v : undefined;
}

/** A boolean flag's value; false when absent. */
export function booleanFlag(args: ParsedArgs, name: string): boolean {
  return args.flags[name] === true;
}

/** A list flag's values, in order; empty when absent. */
export function listFlag(args: ParsedArgs, name: string): string[] {
  const v = args.flags[name];
  return Array.isArray(v) ? v : [];
}
