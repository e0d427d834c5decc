/**
 * The `lxr` command as a library: {@link runCli} with an injectable {@link CliContext}, the argv
 * parser and the formatters, for tests and for wrappers. The executable is `dist/main.js`.
 */
export {
  booleanFlag,
  type FlagSpec,
  type FlagValue,
  listFlag,
  type ParsedArgs,
  parseArgs,
  stringFlag,
} from './argv.js';
export { runCli } from './cli.js';
export type { Command } from './commands/command.js';
export { commands } from './commands/index.js';
export { type CliContext, type Output, processContext } from './context.js';
export { CliError, describeError, ExitCode, UsageError } from './errors.js';
export { humanDuration, timeAgo } from './format/duration.js';
export { cell, formatTable } from './format/table.js';
export { parseBytes } from './format/units.js';
