import type { PublishedPort } from '@lxr/events';
import { formatCidr, formatIpv4, type Ipv4Network } from './ipv4.js';
import { run } from './run.js';

/**
 * lxr's iptables rules, all in chains of its own named `<prefix>-…` (default `LXR`), each jumped
 * to once from a built-in chain:
 *
 * | table  | chain              | from                     | rules                                              |
 * | ------ | ------------------ | ------------------------ | -------------------------------------------------- |
 * | nat    | `<p>-POSTROUTING`  | POSTROUTING              | MASQUERADE the subnet leaving by another interface; MASQUERADE 127.0.0.0/8 sent to the bridge (DNAT from loopback) |
 * | nat    | `<p>-DNAT`         | PREROUTING, OUTPUT (dst-type LOCAL) | one DNAT per published port, commented with the container id |
 * | filter | `<p>-FORWARD`      | FORWARD (first)          | ACCEPT to and from the bridge                      |
 * | filter | `<p>-INPUT`        | INPUT (first)            | DROP 127.0.0.0/8 arriving from the bridge unless DNAT'ed (`route_localnet` guard) |
 *
 * Every change is one `iptables-restore --noflush` batch: atomic, one process.
 */
export interface FirewallConfig {
  readonly prefix: string;
  readonly bridge: string;
  readonly subnet: Ipv4Network;
}

export const chainNames = (prefix: string) => ({
  postrouting: `${prefix}-POSTROUTING`,
  dnat: `${prefix}-DNAT`,
  forward: `${prefix}-FORWARD`,
  input: `${prefix}-INPUT`,
});

/** A DNAT rule of one published port, as iptables-save prints it (so it can be matched and deleted). */
export function dnatRule(prefix: string, containerId: string, ip: number, port: PublishedPort): string {
  const destination = port.hostIp === undefined ? '' : ` -d ${port.hostIp}/32`;
  return (
    `-A ${chainNames(prefix).dnat}${destination} -p ${port.protocol} -m ${port.protocol} --dport ${port.hostPort}` +
    ` -m comment --comment ${containerId} -j DNAT --to-destination ${formatIpv4(ip)}:${port.containerPort}`
  );
}

const restore = (input: string) => run('iptables-restore', ['-w', '5', '--noflush'], input);

/** The rules of our chains and the jumps to them in the built-in chains, per table. */
async function saved(table: 'nat' | 'filter'): Promise<string[]> {
  const { stdout } = await run('iptables-save', ['-t', table]);
  return stdout.split('\n');
}

/**
 * Installs (or rewrites) lxr's chains with their fixed rules and the given DNAT rules, and adds
 * each jump from a built-in chain if it is missing. Declaring a chain in a `--noflush` restore
 * flushes it, so the whole set is replaced in one atomic step.
 */
export async function installFirewall(config: FirewallConfig, dnatRules: readonly string[]): Promise<void> {
  const c = chainNames(config.prefix);
  const [nat, filter] = await Promise.all([saved('nat'), saved('filter')]);
  const jump = (lines: string[], rule: string, insert = false) =>
    lines.includes(`-A ${rule}`) ? [] : [`${insert ? '-I' : '-A'} ${rule}`];
  const subnet = formatCidr(config.subnet);
  const input = [
    '*nat',
    `:${c.postrouting} - [0:0]`,
    `:${c.dnat} - [0:0]`,
    `-A ${c.postrouting} -s ${subnet} ! -o ${config.bridge} -j MASQUERADE`,
    `-A ${c.postrouting} -s 127.0.0.0/8 -o ${config.bridge} -j MASQUERADE`,
    ...dnatRules,
    ...jump(nat, `POSTROUTING -j ${c.postrouting}`),
    ...jump(nat, `PREROUTING -m addrtype --dst-type LOCAL -j ${c.dnat}`),
    ...jump(nat, `OUTPUT -m addrtype --dst-type LOCAL -j ${c.dnat}`),
    'COMMIT',
    '*filter',
    `:${c.forward} - [0:0]`,
    `:${c.input} - [0:0]`,
    `-A ${c.forward} -o ${config.bridge} -j ACCEPT`,
    `-A ${c.forward} -i ${config.bridge} -j ACCEPT`,
    `-A ${c.input} -d 127.0.0.0/8 -i ${config.bridge} -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`,
    ...jump(filter, `FORWARD -j ${c.forward}`, true),
    ...jump(filter, `INPUT -j ${c.input}`, true),
    'COMMIT',
    '',
  ];
  await restore(input.join('\n'));
}

/** Adds DNAT rules (one batch). */
export async function addRules(rules: readonly string[]): Promise<void> {
  if (rules.length > 0) await restore(['*nat', ...rules, 'COMMIT', ''].join('\n'));
}

/** The DNAT rules now in our chain, as iptables-save prints them. */
export async function listDnatRules(prefix: string): Promise<string[]> {
  const chain = `-A ${chainNames(prefix).dnat} `;
  return (await saved('nat')).filter((l) => l.startsWith(chain));
}

/** The container a DNAT rule belongs to (its comment). */
export function ruleContainer(rule: string): string | undefined {
  return /--comment "?([0-9a-f]{64})"?/.exec(rule)?.[1];
}

/** Deletes DNAT rules exactly as listed by {@link listDnatRules} (one batch). */
export async function deleteRules(rules: readonly string[]): Promise<void> {
  if (rules.length === 0) return;
  await restore(['*nat', ...rules.map((r) => r.replace(/^-A /, '-D ')), 'COMMIT', ''].join('\n'));
}

/** Deletes the rules of one container: whatever rule carries its id. */
export async function deleteContainerRules(prefix: string, containerId: string): Promise<void> {
  const rules = (await listDnatRules(prefix)).filter((r) => ruleContainer(r) === containerId);
  await deleteRules(rules);
}

/** Removes the jumps and lxr's chains (`lxr down --purge`); chains that are not there are fine. */
export async function removeFirewall(prefix: string): Promise<void> {
  const ours = new Set(Object.values(chainNames(prefix)));
  const [nat, filter] = await Promise.all([saved('nat'), saved('filter')]);
  // A jump: a rule of a built-in chain whose target is one of ours.
  const isJump = (line: string) => {
    const [verb, chain] = line.split(' ');
    const target = / -j (\S+)$/.exec(line)?.[1];
    return verb === '-A' && !ours.has(chain!) && target !== undefined && ours.has(target);
  };
  // iptables-save declares each chain of the table as `:<name> <policy> [packets:bytes]`.
  const chainsOf = (lines: string[]) => [...ours].filter((ch) => lines.some((l) => l.startsWith(`:${ch} `)));
  const removal = (lines: string[]) => [
    ...lines.filter(isJump).map((l) => l.replace(/^-A /, '-D ')),
    ...chainsOf(lines).flatMap((ch) => [`-F ${ch}`, `-X ${ch}`]),
  ];
  await restore(['*nat', ...removal(nat), 'COMMIT', '*filter', ...removal(filter), 'COMMIT', ''].join('\n'));
}
