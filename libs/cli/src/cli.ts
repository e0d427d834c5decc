import { parseArgs } from './argv.js';
import type { Command } from './commands/command.js';
import { commands } from './commands/index.js';
import type { CliContext } from './context.js';
import { describeError, ExitCode, UsageError } from './errors.js';
import { commandHelp, mainHelp } from './help.js';

const byName = new Map(commands.map((c) => [c.name, c]));

/**
 * Runs `lxr` with `argv` (without the node and script paths) and resolves with the exit code. Never
 * throws: errors are written to `ctx.stderr`.
 *
 * @example
 * process.exitCode = await runCli(process.argv.slice(2), processContext({ version, signal }));
 */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h') {
    ctx.stdout.write(mainHelp(commands));
    return ExitCode.Ok;
  }
  if (first === '--version' || first === '-v' || first === 'version') {
    ctx.stdout.write(`lxr version ${ctx.version}\n`);
    return ExitCode.Ok;
  }
  if (first === 'help') {
    const command = rest[0] === undefined ? undefined : byName.get(rest[0]);
    if (rest[0] !== undefined && !command) return usage(ctx, `unknown command: ${rest[0]}`, undefined);
    ctx.stdout.write(command ? commandHelp(command) : mainHelp(commands));
    return ExitCode.Ok;
  }
  if (first.startsWith('-')) return usage(ctx, `unknown flag: ${first}`, undefined);
  const command = byName.get(first);
  if (!command) return usage(ctx, `'${first}' is not a lxr command.`, undefined);
  try {
    const args = parseArgs(rest, command.flags, {
      stopAtFirstPositional: command.stopAtFirstPositional ?? false,
    });
    if (args.flags['help'] === true) {
      ctx.stdout.write(commandHelp(command));
      return ExitCode.Ok;
    }
    checkArgCount(command, args.positionals.length);
    return await command.run(ctx, args);
  } catch (error) {
    if (error instanceof UsageError) return usage(ctx, error.message, command);
    if (ctx.signal.aborted) return ExitCode.Ok;
    const { message, exitCode } = describeError(error);
    ctx.stderr.write(`Error: ${message}\n`);
    return exitCode;
  }
}

function checkArgCount(command: Command, count: number): void {
  const { min, max } = command.args;
  const plural = (n: number) => `${n} argument${n === 1 ? '' : 's'}`;
  if (max !== undefined && min === max && count !== min) {
    throw new UsageError(
      max === 0
        ? `"lxr ${command.name}" accepts no arguments.`
        : `"lxr ${command.name}" requires exactly ${plural(min)}.`,
    );
  }
  if (count < min) throw new UsageError(`"lxr ${command.name}" requires at least ${plural(min)}.`);
  if (max !== undefined && count > max)
    throw new UsageError(`"lxr ${command.name}" accepts at most ${plural(max)}.`);
}

function usage(ctx: CliContext, message: string, command: Command | undefined): number {
  const help = command ? `lxr ${command.name} --help` : 'lxr --help';
  ctx.stderr.write(`lxr: ${message}\nSee '${help}'.\n`);
  if (command) ctx.stderr.write(`\nUsage:  ${command.usage}\n\n${command.summary}\n`);
  return ExitCode.Usage;
}
