import { type FlagSpec, HELP_FLAG } from './argv.js';
import type { Command } from './commands/command.js';

function flagLines(flags: readonly FlagSpec[]): string {
  const rows = flags
    .filter((f) => !f.hidden)
    .map((f) => {
      const short = f.short ? `-${f.short}, ` : '    ';
      const value = f.value
        ? ` ${f.value}`
        : f.kind === 'list'
          ? ' VALUE'
          : f.kind === 'string'
            ? ' string'
            : '';
      return [`  ${short}--${f.name}${value}${f.kind === 'list' ? '...' : ''}`, f.description] as const;
    });
  const width = Math.max(...rows.map(([left]) => left.length));
  return rows.map(([left, text]) => `${left.padEnd(width + 3)}${text}\n`).join('');
}

/** `lxr VERB --help`. */
export function commandHelp(command: Command): string {
  return (
    `\nUsage:  ${command.usage}\n\n${command.summary}\n` +
    (command.description ? `\n${command.description}\n` : '') +
    `\nOptions:\n${flagLines([...command.flags, HELP_FLAG])}`
  );
}

/** `lxr --help`. */
export function mainHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return (
    '\nUsage:  lxr [OPTIONS] COMMAND\n\n' +
    'Containers made from Linux primitives, with VS Code in the browser\n\n' +
    'Commands:\n' +
    commands.map((c) => `  ${c.name.padEnd(width + 3)}${c.summary}\n`).join('') +
    `  ${'help'.padEnd(width + 3)}Help about a command\n` +
    '\nOptions:\n' +
    '  -h, --help      Print usage\n' +
    '  -v, --version   Print version information and quit\n\n' +
    'Environment:\n' +
    '  LXR_HOME        State directory (default /var/lib/lxr)\n' +
    '  LXR_API_URL     The API (default http://127.0.0.1:7420)\n' +
    '  LXR_TOKEN       The API token (default: read from $LXR_HOME/api-token)\n\n' +
    "Run 'lxr COMMAND --help' for more information on a command.\n"
  );
}
