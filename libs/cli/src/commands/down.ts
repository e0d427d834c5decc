import { lxrHome } from '@lxr/client';
import { booleanFlag } from '../argv.js';
import { ExitCode } from '../errors.js';
import type { Command } from './command.js';

/** `lxr down`. */
export const downCommand: Command = {
  name: 'down',
  summary: 'Stop lxr and every process it started',
  usage: 'lxr down [OPTIONS]',
  description: 'Stops the services in reverse order and waits until no process is left.',
  flags: [
    {
      name: 'purge',
      kind: 'boolean',
      description:
        "Also end this home's containers (processes, monitors, cgroups, runtime state), unmount and delete their root filesystems, delete lxr's data (event log, NATS streams, logs, secrets, volumes) and its host network (namespaces, veths, bridge, iptables chains); the image store, layer cache and tools bundle stay",
    },
  ],
  args: { min: 0, max: 0 },
  async run(ctx, args) {
    const home = lxrHome(ctx.env);
    const purge = booleanFlag(args, 'purge');
    const running = await ctx.compose.status({ lxrHome: home });
    await ctx.compose.down({ lxrHome: home, purge });
    if (purge) {
      // The services are stopped, so nothing re-creates what this removes. The order matters:
      // processes hold the mounts, and the containers' namespaces hold the veths.
      const [{ purgeContainers }, { purgeRootfs }, { purgeHostNetwork }] = await Promise.all([
        import('@lxr/executor/purge'),
        import('@lxr/rootfs-builder/purge'),
        import('@lxr/network-allocator/purge'),
      ]);
      await purgeContainers(home, ctx.env);
      await purgeRootfs(home, ctx.env);
      await purgeHostNetwork(home);
    }
    ctx.stdout.write(
      `${running ? 'lxr is down' : 'lxr was not running'}${purge ? `; removed its data under ${home}` : ''}\n`,
    );
    return ExitCode.Ok;
  },
};
