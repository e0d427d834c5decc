import { defaultApiUrl, lxrHome } from '@lxr/client';
import type { ComposeStatus } from '@lxr/docker-free-compose';
import { ExitCode } from '../errors.js';
import type { Command } from './command.js';

/** `lxr up`. */
export const upCommand: Command = {
  name: 'up',
  summary: 'Start lxr: NATS, PostgreSQL, the API and the node services',
  usage: 'lxr up',
  description:
    'Starts the supervisor (docker-free-compose) in the background and waits until every service is ready.',
  flags: [],
  args: { min: 0, max: 0 },
  async run(ctx) {
    const home = lxrHome(ctx.env);
    const started = ctx.now().getTime();
    const elapsed = () => `${((ctx.now().getTime() - started) / 1000).toFixed(1)}s`;
    const shown = new Map<string, string>();
    const width = (s: ComposeStatus) => Math.max(...s.services.map((x) => x.name.length));
    const onProgress = (status: ComposeStatus) => {
      for (const service of status.services) {
        if (shown.get(service.name) === service.state) continue;
        shown.set(service.name, service.state);
        // Only the moments worth a line: ready, or trouble; `starting` lines would double the output.
        if (['ready', 'unhealthy', 'restarting', 'failed'].includes(service.state)) {
          const mark = service.state === 'ready' ? '✔' : '✘';
          const why = service.lastError && service.state !== 'ready' ? `  ${service.lastError}` : '';
          ctx.stdout.write(
            ` ${mark} ${service.name.padEnd(width(status))}  ${service.state.padEnd(10)} ${elapsed()}${why}\n`,
          );
        }
      }
    };
    await ctx.compose.up({ lxrHome: home, onProgress });
    ctx.stdout.write(
      `lxr is up (${elapsed()}). API: ${defaultApiUrl(ctx.env)} (docs at /docs, token in ${home}/api-token)\n`,
    );
    return ExitCode.Ok;
  },
};
