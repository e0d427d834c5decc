import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  containerStream,
  NETWORK_POOL_STREAM,
  NetworkErrorCode,
  networkNodeStream,
  newContainerId,
} from '@lxr/events';
import { freePort, requiresRoot, waitFor } from '@lxr/testkit';
import { addRules, deleteRules } from './firewall.js';
import { run } from './run.js';
import { type NetworkHarness, networkEnv, startNetworkHarness, testNetworkNames } from './testing/harness.js';

const skip =
  requiresRoot() || (!existsSync('/bin/busybox') && !existsSync('/usr/bin/busybox') && 'needs busybox');

/** Runs busybox inside a namespace; resolves with its exit code. */
async function inNetns(netns: string, ...args: string[]): Promise<number> {
  try {
    await run('ip', ['netns', 'exec', netns, 'busybox', ...args]);
    return 0;
  } catch {
    return 1;
  }
}

/** The pool's leases, as the log records them. */
async function readNetworkLeases(h: NetworkHarness): Promise<{ node: string; subnet: string }[]> {
  const events = await h.store.readStream(NETWORK_POOL_STREAM);
  return events.map((e) => e.data as { node: string; subnet: string });
}

async function httpGet(port: number, host = '127.0.0.1'): Promise<string> {
  const res = await fetch(`http://${host}:${port}/`, { signal: AbortSignal.timeout(3_000) });
  return res.text();
}

describe('network-allocator (root, real namespaces)', { skip }, () => {
  let h: NetworkHarness;
  before(async () => {
    h = await startNetworkHarness();
    await h.startAllocator();
  });
  after(async () => {
    await h?.dispose();
    if (h) {
      const left = await h.leftovers();
      assert.deepEqual(left, { netns: [], veths: [], rules: [] }, 'dispose left something on the host');
      assert.equal(existsSync(`/sys/class/net/${h.names.bridge}`), false, 'the bridge is gone');
      const { stdout: saved } = await run('iptables-save', []);
      assert.equal(saved.includes(h.names.chainPrefix), false, 'the chains and the jumps to them are gone');
    }
  });

  it('wires two containers that ping each other and the gateway, with hosts and resolv.conf', async () => {
    const a = await h.request({ name: 'alpha' });
    const b = await h.request({ name: 'beta' });
    const [ra, rb] = await Promise.all([h.waitFor(a, 'NetworkReady'), h.waitFor(b, 'NetworkReady')]);
    assert.notEqual(ra.ip, rb.ip);
    assert.equal(ra.gateway, rb.gateway);
    assert.equal(ra.bridge, h.names.bridge);
    assert.equal(ra.netnsPath, `/run/netns/${ra.netns}`);
    assert.ok(existsSync(ra.netnsPath));
    assert.equal(
      ra.mac,
      `02:42:${ra.ip
        .split('.')
        .map((o) => Number(o).toString(16).padStart(2, '0'))
        .join(':')}`,
    );
    const { stdout } = await run('ip', ['-n', ra.netns, '-j', 'addr', 'show', 'eth0']);
    const [link] = JSON.parse(stdout) as {
      address: string;
      addr_info: { family: string; local: string; prefixlen: number }[];
    }[];
    assert.equal(link!.address, ra.mac);
    assert.deepEqual(
      link!.addr_info.filter((i) => i.family === 'inet').map((i) => `${i.local}/${i.prefixlen}`),
      [`${ra.ip}/${ra.prefixLength}`],
    );

    assert.equal(await inNetns(ra.netns, 'ping', '-c1', '-W2', rb.ip), 0, 'a pings b');
    assert.equal(await inNetns(rb.netns, 'ping', '-c1', '-W2', ra.ip), 0, 'b pings a');
    assert.equal(await inNetns(ra.netns, 'ping', '-c1', '-W2', ra.gateway), 0, 'a pings the gateway');
    assert.equal(await inNetns(ra.netns, 'ping', '-c1', '-W2', '127.0.0.1'), 0, 'loopback is up');

    const subnet = `${ra.ip.split('.').slice(0, 3).join('.')}.0/${ra.prefixLength}`;
    const { stdout: nat } = await run('iptables-save', ['-t', 'nat']);
    assert.ok(
      nat.includes(`-A ${h.names.chainPrefix}-POSTROUTING -s ${subnet} ! -o ${h.names.bridge} -j MASQUERADE`),
      'egress from the subnet is masqueraded',
    );
    assert.equal(
      (await readFile('/proc/sys/net/ipv4/conf/' + h.names.bridge + '/route_localnet', 'utf8')).trim(),
      '1',
    );

    const resolv = await readFile(ra.resolvConfPath, 'utf8');
    assert.match(resolv, /^nameserver /m);
    assert.doesNotMatch(resolv, /nameserver 127\./);
    await waitFor(
      async () => (await readFile(ra.hostsPath, 'utf8')).includes(`${rb.ip}\tbeta`),
      "alpha's /etc/hosts to list beta",
    );
    assert.match(
      await readFile(ra.hostsPath, 'utf8'),
      new RegExp(`^${ra.ip.replace(/\./g, '\\.')}\\talpha`, 'm'),
    );

    await h.remove(a, 'alpha');
    await h.remove(b, 'beta');
    await Promise.all([h.waitFor(a, 'NetworkReleased'), h.waitFor(b, 'NetworkReleased')]);
    assert.equal(existsSync(ra.netnsPath), false);
    assert.equal(existsSync(`/sys/class/net/${ra.hostVeth}`), false);
    assert.equal(existsSync(path.dirname(ra.hostsPath)), false);
    assert.equal((await h.allocations()).size, 0);
  });

  it('publishes ports on 127.0.0.1 (fixed and kernel-chosen), refuses taken ones, and drops the rules on removal', async () => {
    const fixed = await freePort();
    const id = await h.request({
      name: 'web',
      ports: [
        { hostIp: '127.0.0.1', hostPort: fixed, containerPort: 8080, protocol: 'tcp' },
        { hostPort: 0, containerPort: 8080, protocol: 'tcp' },
        { hostPort: 0, containerPort: 53, protocol: 'udp' },
      ],
    });
    const ready = await h.waitFor(id, 'NetworkReady');
    const any = ready.ports.find((p) => p.hostIp === undefined && p.protocol === 'tcp')!;
    const udp = ready.ports.find((p) => p.protocol === 'udp')!;
    assert.ok(udp.hostPort > 0);
    assert.ok(any.hostPort > 0, 'hostPort 0 became a real port');
    const www = path.join(h.home, 'www');
    await mkdir(www, { recursive: true });
    await writeFile(path.join(www, 'index.html'), 'hello from the container\n');
    const httpd = spawn(
      'ip',
      ['netns', 'exec', ready.netns, 'busybox', 'httpd', '-f', '-p', '8080', '-h', www],
      {
        stdio: 'ignore',
      },
    );
    try {
      await waitFor(
        () =>
          httpGet(fixed).then(
            (t) => t === 'hello from the container\n',
            () => false,
          ),
        'the published port to answer on 127.0.0.1',
      );
      assert.equal(await httpGet(any.hostPort), 'hello from the container\n');
      // A port published on every address answers on the host's other addresses too (the bridge's).
      assert.equal(await httpGet(any.hostPort, ready.gateway), 'hello from the container\n');
      await assert.rejects(httpGet(fixed, ready.gateway), 'a port published on 127.0.0.1 only does not');

      // A host port another container publishes, and one a host process holds.
      const twin = await h.request({
        ports: [{ hostPort: any.hostPort, containerPort: 80, protocol: 'tcp' }],
      });
      const failed = await h.waitFor(twin, 'NetworkFailed');
      assert.equal(failed.code, NetworkErrorCode.PortInUse);
      assert.match(failed.message, new RegExp(`:${any.hostPort}/tcp`));
      const holder: Server = createServer();
      const held = await freePort();
      await new Promise<void>((r) => holder.listen(held, '127.0.0.1', r));
      try {
        const third = await h.request({
          ports: [{ hostIp: '127.0.0.1', hostPort: held, containerPort: 80, protocol: 'tcp' }],
        });
        const f = await h.waitFor(third, 'NetworkFailed');
        assert.equal(f.code, NetworkErrorCode.PortInUse);
        assert.match(f.message, /in use by a process on the host/);
        assert.equal((await h.allocations()).has(third), false, 'a failed request holds no address');
      } finally {
        holder.close();
      }
      const rules = (await h.leftovers()).rules;
      assert.equal(rules.length, 3);
      assert.ok(
        rules.some(
          (r) => r.includes(`-p udp -m udp --dport ${udp.hostPort} `) && r.endsWith(`${ready.ip}:53`),
        ),
        `a udp DNAT rule: ${rules.join('\n')}`,
      );
    } finally {
      httpd.kill('SIGKILL');
    }
    await h.remove(id, 'web');
    await h.waitFor(id, 'NetworkReleased');
    const left = await h.leftovers();
    assert.deepEqual(left.rules, []);
    assert.equal(left.netns.includes(ready.netns), false);
    assert.equal(left.veths.includes(ready.hostVeth), false);
    await assert.rejects(httpGet(fixed), 'nothing answers once the container is gone');
  });

  it('gives a static --ip when free and refuses it when taken', async () => {
    const first = await h.request();
    const ready = await h.waitFor(first, 'NetworkReady');
    const octets = ready.ip.split('.');
    const wanted = `${octets[0]}.${octets[1]}.${octets[2]}.200`;
    const s = await h.request({ ip: wanted });
    assert.equal((await h.waitFor(s, 'NetworkReady')).ip, wanted);
    const taken = await h.request({ ip: wanted });
    assert.equal((await h.waitFor(taken, 'NetworkFailed')).code, NetworkErrorCode.IpUnavailable);
    for (const id of [first, s, taken]) await h.remove(id);
    for (const id of [first, s, taken]) await h.waitFor(id, 'NetworkReleased');
    const allocations = await h.allocations();
    assert.ok([first, s, taken].every((id) => !allocations.has(id)));
  });
});

describe('network-allocator under concurrency and crashes (root)', { skip }, () => {
  it('gives 200 concurrent requests across two allocator processes 200 distinct addresses', async () => {
    const h = await startNetworkHarness();
    try {
      await Promise.all([h.startAllocator(), h.startAllocator()]);
      const ids = await Promise.all(Array.from({ length: 200 }, () => h.request()));
      const ready = await Promise.all(ids.map((id) => h.waitFor(id, 'NetworkReady', 120_000)));
      assert.equal(new Set(ready.map((r) => r.ip)).size, 200, 'distinct addresses');
      assert.equal(new Set(ready.map((r) => r.netns)).size, 200);
      const allocations = await h.allocations();
      assert.equal(allocations.size, 200);
      for (const r of ready)
        assert.equal(allocations.get(r.containerId), r.ip, 'the log agrees with NetworkReady');
      assert.ok(ready.every((r) => existsSync(r.netnsPath)));
      await Promise.all(ids.map((id) => h.remove(id)));
      await Promise.all(ids.map((id) => h.waitFor(id, 'NetworkReleased', 120_000)));
      assert.equal((await h.allocations()).size, 0);
      await h.stopAllocators();
      assert.deepEqual(await h.leftovers(), { netns: [], veths: [], rules: [] });
    } finally {
      await h.dispose();
    }
  });

  it('leaks nothing when killed with SIGKILL in the middle of 50 allocations', async () => {
    const h = await startNetworkHarness();
    try {
      const ackWait = { LXR_NETWORK_ACK_WAIT_MS: '1000' };
      const first = await h.startAllocator(ackWait);
      const ids = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          h.request(i % 5 === 0 ? { ports: [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }] } : {}),
        ),
      );
      await waitFor(async () => (await h.allocations()).size >= 10, 'some allocations', 30_000, 5);
      const deadPid = first.child.pid!;
      await first.kill();
      const partial = (await h.allocations()).size;
      await h.startAllocator(ackWait);
      await Promise.all(ids.map((id) => h.remove(id)));
      await Promise.all(ids.map((id) => h.waitFor(id, 'NetworkReleased', 60_000)));
      // Requests redelivered after the removals must not wire anything again.
      await new Promise((r) => setTimeout(r, 2_500));
      assert.equal((await h.allocations()).size, 0, `addresses left (of ${partial} at the kill)`);
      const running = await h.leftovers();
      assert.deepEqual(
        running.netns.filter((n) => n.includes(`w${deadPid}-`)),
        [],
        "the killed allocator's warm namespaces were reconciled away",
      );
      await h.stopAllocators();
      assert.deepEqual(await h.leftovers(), { netns: [], veths: [], rules: [] });
      assert.deepEqual(await readdir(path.join(h.home, 'network', 'containers')).catch(() => []), []);
      for (const id of ids) {
        const types = (await h.networkEvents(id)).map((e) => e.type);
        assert.equal(types.filter((t) => t === 'NetworkReleased').length, 1, `released once: ${types}`);
      }
    } finally {
      await h.dispose();
    }
  });
});

describe('reconciliation and failed starts (root)', { skip }, () => {
  it('leases each node its own subnet, and only the node that wired a container releases it', async () => {
    const h = await startNetworkHarness();
    const otherHome = await mkdtemp(path.join(tmpdir(), 'lxr-net-other-'));
    try {
      await h.startAllocator();
      const other = await testNetworkNames();
      await h.startAllocator({
        ...networkEnv({ ...other, pool: h.names.pool }),
        LXR_NODE_NAME: 'other-node',
        LXR_HOME: otherHome,
      });
      const id = await h.request();
      const ready = await h.waitFor(id, 'NetworkReady');
      assert.equal(ready.node, h.node);
      const inspect = await readNetworkLeases(h);
      assert.equal(inspect.length, 2, 'two leases');
      assert.notEqual(inspect[0]!.subnet, inspect[1]!.subnet);
      await h.remove(id);
      const released = await h.waitFor(id, 'NetworkReleased');
      assert.equal(released.node, h.node);
      await new Promise((r) => setTimeout(r, 500));
      const types = (await h.networkEvents(id)).map((e) => e.type);
      assert.deepEqual(types, ['NetworkReady', 'NetworkReleased'], 'the other node wrote nothing');
    } finally {
      await h.dispose();
      await rm(otherHome, { recursive: true, force: true });
    }
  });

  it('refuses to start with a pool that clashes with the host, saying what it overlaps', async () => {
    const h = await startNetworkHarness();
    try {
      await assert.rejects(
        h.startAllocator({ LXR_NETWORK_POOL: '127.0.0.0/16' }),
        /LXR_NETWORK_POOL 127\.0\.0\.0\/16 overlaps networks already on this host \(.*on lo/,
      );
      assert.equal(existsSync(`/sys/class/net/${h.names.bridge}`), false, 'nothing was made');
    } finally {
      await h.dispose();
    }
  });

  it('tears down on ContainerFailed and repairs what changed behind its back', async () => {
    const h = await startNetworkHarness({ reconcileMs: 300 });
    try {
      await h.startAllocator();
      const kept = await h.request({ ports: [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }] });
      const failed = await h.request();
      await Promise.all([h.waitFor(kept, 'NetworkReady'), h.waitFor(failed, 'NetworkReady')]);

      await h.store.append(containerStream(failed), 'any', [
        {
          type: 'ContainerFailed',
          data: { containerId: failed, node: h.node, code: 'EXECUTOR_START_FAILED', message: 'test' },
          correlationId: failed,
        },
      ]);
      assert.equal((await h.waitFor(failed, 'NetworkReleased')).reason, 'container-failed');

      // Behind its back: an address for a container the log does not know (as a crash between
      // allocation and everything else could leave), an orphan namespace and veth, a stray rule,
      // and a published port's rule deleted.
      const stranger = newContainerId();
      const node = await h.store.readStream(networkNodeStream(h.node));
      const free = `${h.names.pool.split('.').slice(0, 2).join('.')}.0.250`;
      await h.store.append(networkNodeStream(h.node), node.length, [
        {
          type: 'IpAllocated',
          data: {
            containerId: stranger,
            node: h.node,
            name: 'stranger',
            ip: free,
            netns: `${h.names.netnsPrefix}${stranger.slice(0, 12)}`,
            hostVeth: `${h.names.vethPrefix}${stranger.slice(0, 9)}`,
            ports: [],
          },
          correlationId: stranger,
        },
      ]);
      const orphanNetns = `${h.names.netnsPrefix}0123456789ab`;
      const orphanVeth = `${h.names.vethPrefix}orphan`;
      await run('ip', ['netns', 'add', orphanNetns]);
      await run('ip', ['link', 'add', orphanVeth, 'type', 'veth', 'peer', 'name', `${orphanVeth}p`]);
      const [rule] = (await h.leftovers()).rules;
      assert.ok(rule);
      const stray = rule
        .replace(/--comment \S+/, `--comment ${'ee'.repeat(32)}`)
        .replace(/--dport \d+/, '--dport 9');
      await addRules([stray]);
      await deleteRules([rule]);

      await waitFor(
        async () => {
          const left = await h.leftovers();
          return (
            !(await h.allocations()).has(stranger) &&
            !left.netns.includes(orphanNetns) &&
            !left.veths.some((v) => v.startsWith(orphanVeth)) &&
            left.rules.length === 1 &&
            left.rules[0] === rule
          );
        },
        'the reconciler to release the stranger, delete the orphans and the stray rule, and restore the rule',
        10_000,
      );
      const released = (await h.store.readStream(networkNodeStream(h.node))).filter(
        (e) => e.type === 'IpReleased' && (e.data as { containerId: string }).containerId === stranger,
      );
      assert.equal((released[0]!.data as { reason: string }).reason, 'reconciled');
      assert.deepEqual([...(await h.allocations()).keys()], [kept]);
    } finally {
      await h.dispose();
    }
  });
});
