import type { NetworkInspect, PublishedPort } from '@lxr/client';
import { shortId } from '@lxr/events/ids';
import { booleanFlag } from '../argv.js';
import { ExitCode, UsageError } from '../errors.js';
import { cell, formatTable } from '../format/table.js';
import { type Command, FORMAT_FLAG } from './command.js';
import { outputFormat } from './format-flag.js';

/** `127.0.0.1:8080->80/tcp`, as `docker ps` shows a published port. */
export function portText(p: PublishedPort): string {
  return `${p.hostIp ?? '0.0.0.0'}:${p.hostPort}->${p.containerPort}/${p.protocol}`;
}

/** The pool, a table of node subnets and a table of allocations. */
function inspectText(network: NetworkInspect, noTrunc: boolean): string {
  const nodes = formatTable(
    ['NODE', 'SUBNET', 'GATEWAY', 'ALLOCATED'],
    network.nodes.map((n) => [n.node, n.subnet, n.gateway, String(n.allocations.length)]),
  );
  const allocations = formatTable(
    ['CONTAINER ID', 'NAME', 'NODE', 'IP', 'PORTS'],
    network.nodes.flatMap((n) =>
      n.allocations.map((a) => [
        noTrunc ? a.containerId : shortId(a.containerId),
        a.name,
        n.node,
        a.ip,
        cell(a.ports.map(portText).join(', ')),
      ]),
    ),
  );
  return `POOL ${network.pool ?? '- (no node has leased a subnet yet)'}\n\n${nodes}\n${allocations}`;
}

/** `lxr network inspect`. */
export const networkCommand: Command = {
  name: 'network',
  summary: 'Show the container address pool, node subnets and allocations',
  usage: 'lxr network inspect [OPTIONS]',
  description:
    'Shows the cluster address pool, the subnet each node leased from it, and every address (and ' +
    'published host port) given to a container, as the event log records them.',
  flags: [{ name: 'no-trunc', kind: 'boolean', description: "Don't truncate output" }, FORMAT_FLAG],
  args: { min: 1, max: 1 },
  async run(ctx, args) {
    const [sub] = args.positionals;
    if (sub !== 'inspect')
      throw new UsageError(`unknown network command "${sub}": use "lxr network inspect"`);
    const format = outputFormat(args);
    const client = await ctx.client();
    const network = await client.networks.inspect({ signal: ctx.signal });
    ctx.stdout.write(
      format === 'json'
        ? `${JSON.stringify(network)}\n`
        : inspectText(network, booleanFlag(args, 'no-trunc')),
    );
    return ExitCode.Ok;
  },
};
