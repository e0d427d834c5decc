import { lxrHome } from '@lxr/client';
import type { ComposeStatus } from '@lxr/docker-free-compose';
import { ExitCode } from '../errors.js';
import { humanDuration } from '../format/duration.js';
import { cell, formatTable } from '../format/table.js';
import { type Command, FORMAT_FLAG } from './command.js';
import { outputFormat } from './format-flag.js';

/** `lxr status`' table; UPTIME counts from when a ready service became ready. */
function servicesTable(status: ComposeStatus, now: Date): string {
  return formatTable(
    ['SERVICE', 'STATE', 'PID', 'RESTARTS', 'UPTIME'],
    status.services.map((s) => [
      s.name,
      s.state,
      cell(s.pid),
      String(s.restarts),
      s.state === 'ready' ? humanDuration(Math.max(0, now.getTime() - Date.parse(s.since))) : '-',
    ]),
  );
}

/** `lxr status`. */
export const statusCommand: Command = {
  name: 'status',
  summary: "Show lxr's services and their health",
  usage: 'lxr status [OPTIONS]',
  description: 'Exits 1 when lxr is not running or a service is not ready.',
  flags: [FORMAT_FLAG],
  args: { min: 0, max: 0 },
  async run(ctx, args) {
    const format = outputFormat(args);
    const home = lxrHome(ctx.env);
    const status = await ctx.compose.status({ lxrHome: home });
    if (!status) {
      ctx.stderr.write(`lxr is not running (no supervisor for ${home}); start it with \`lxr up\`\n`);
      return ExitCode.Failure;
    }
    if (format === 'json') ctx.stdout.write(`${JSON.stringify(status)}\n`);
    else ctx.stdout.write(servicesTable(status, ctx.now()));
    const notReady = status.services.filter((s) => s.state !== 'ready');
    if (notReady.length > 0) {
      const hint = notReady.map(
        (s) => `${s.name} (${s.state}${s.lastError ? `: ${s.lastError}` : ''}; log ${s.logFile})`,
      );
      ctx.stderr.write(`not ready: ${hint.join(', ')}\n`);
      return ExitCode.Failure;
    }
    return ExitCode.Ok;
  },
};
