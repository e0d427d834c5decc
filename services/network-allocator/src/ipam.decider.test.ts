import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkErrorCode, type NetworkEvent } from '@lxr/events';
import {
  type AllocateCommand,
  decideAllocations,
  decideLease,
  decideRelease,
  emptyNode,
  emptyPool,
  evolvePool,
  foldNode,
} from './ipam.decider.js';
import { formatIpv4, macForIpv4, parseCidr, parseIpv4 } from './ipv4.js';

const id = (n: number) => n.toString(16).padStart(64, '0');
const subnet = parseCidr('10.77.3.0/24')!;
const request = (n: number, extra: Partial<AllocateCommand> = {}): AllocateCommand => ({
  containerId: id(n),
  name: `c${n}`,
  netns: `ns${n}`,
  hostVeth: `v${n}`,
  ports: [],
  ...extra,
});

describe('ipv4', () => {
  it('parses and formats addresses and networks, refusing host bits and junk', () => {
    assert.equal(formatIpv4(parseIpv4('10.88.0.2')!), '10.88.0.2');
    assert.equal(parseIpv4('10.88.0.256'), undefined);
    assert.equal(parseIpv4('10.88.0'), undefined);
    assert.equal(parseIpv4('010.1.1.1'), undefined);
    assert.deepEqual(parseCidr('10.88.0.0/16'), { base: parseIpv4('10.88.0.0'), prefixLength: 16 });
    assert.equal(parseCidr('10.88.0.1/16'), undefined);
    assert.equal(parseCidr('10.88.0.0/33'), undefined);
    assert.equal(parseCidr('10.88.0.0'), undefined);
  });

  it('derives the MAC from the address as docker does', () => {
    assert.equal(macForIpv4(parseIpv4('172.17.0.2')!), '02:42:ac:11:00:02');
  });
});

describe('decideLease', () => {
  const pool = parseCidr('10.77.0.0/16')!;
  it('gives each node the next free subnet and a node its existing lease', () => {
    const first = decideLease({ node: 'a', pool, subnetPrefixLength: 24 }, emptyPool());
    assert.equal(first.kind, 'lease');
    assert.ok(first.kind === 'lease');
    assert.deepEqual(first.event.data, {
      node: 'a',
      pool: '10.77.0.0/16',
      subnet: '10.77.0.0/24',
      gateway: '10.77.0.1',
    });
    const state = evolvePool(emptyPool(), first.event as NetworkEvent);
    const second = decideLease({ node: 'b', pool, subnetPrefixLength: 24 }, state);
    assert.ok(second.kind === 'lease');
    assert.equal(second.event.data.subnet, '10.77.1.0/24');
    const again = decideLease({ node: 'a', pool, subnetPrefixLength: 24 }, state);
    assert.ok(again.kind === 'leased');
    assert.equal(formatIpv4(again.lease.gateway), '10.77.0.1');
  });

  it('fails when the pool is full or the subnet does not fit', () => {
    const small = parseCidr('10.77.0.0/24')!;
    const one = decideLease({ node: 'a', pool: small, subnetPrefixLength: 24 }, emptyPool());
    assert.ok(one.kind === 'lease');
    const full = decideLease(
      { node: 'b', pool: small, subnetPrefixLength: 24 },
      evolvePool(emptyPool(), one.event),
    );
    assert.ok(full.kind === 'failed');
    assert.equal(full.code, NetworkErrorCode.PoolExhausted);
    const wide = decideLease({ node: 'a', pool: small, subnetPrefixLength: 16 }, emptyPool());
    assert.ok(wide.kind === 'failed');
    assert.equal(wide.code, NetworkErrorCode.PoolInvalid);
  });
});

describe('decideAllocations', () => {
  it('gives distinct addresses in one batch, skipping network, gateway and broadcast', () => {
    const { decisions, events } = decideAllocations(
      [request(1), request(2), request(3)],
      emptyNode(),
      subnet,
      'n1',
    );
    assert.deepEqual(
      events.map((e) => e.data.ip),
      ['10.77.3.2', '10.77.3.3', '10.77.3.4'],
    );
    assert.ok(decisions.every((d) => d.kind === 'allocated' && !d.existing));
    assert.equal(events[0]!.data.node, 'n1');
  });

  it('keeps a container on the address it holds (a redelivered request) and appends nothing', () => {
    const first = decideAllocations([request(1)], emptyNode(), subnet, 'n1');
    const state = foldNode(first.events);
    const again = decideAllocations([request(1)], state, subnet, 'n1');
    assert.deepEqual(again.events, []);
    assert.ok(again.decisions[0]!.kind === 'allocated' && again.decisions[0]!.existing);
  });

  it('goes round-robin, so a released address is not reused at once', () => {
    const a = decideAllocations([request(1), request(2)], emptyNode(), subnet, 'n1');
    let state = foldNode(a.events);
    state = foldNode([decideRelease(id(1), 'container-removed', state, 'n1')!], state);
    const b = decideAllocations([request(3)], state, subnet, 'n1');
    assert.equal(b.events[0]!.data.ip, '10.77.3.4');
  });

  it('fills the subnet, then fails with NETWORK_SUBNET_EXHAUSTED', () => {
    const small = parseCidr('10.77.3.0/29')!; // .2 – .6: five addresses
    const all = decideAllocations(
      [1, 2, 3, 4, 5, 6].map((n) => request(n)),
      emptyNode(),
      small,
      'n1',
    );
    assert.equal(all.events.length, 5);
    const last = all.decisions[5]!;
    assert.ok(last.kind === 'failed');
    assert.equal(last.code, NetworkErrorCode.SubnetExhausted);
  });

  it('honours a free static address and refuses a taken, reserved or foreign one', () => {
    const ok = decideAllocations([request(1, { staticIp: '10.77.3.50' })], emptyNode(), subnet, 'n1');
    assert.equal(ok.events[0]!.data.ip, '10.77.3.50');
    const state = foldNode(ok.events);
    for (const ip of ['10.77.3.50', '10.77.3.1', '10.77.3.255', '10.77.4.2', 'nonsense']) {
      const d = decideAllocations([request(2, { staticIp: ip })], state, subnet, 'n1').decisions[0]!;
      assert.ok(d.kind === 'failed', ip);
      assert.equal(d.code, NetworkErrorCode.IpUnavailable);
      assert.match(d.message, new RegExp(ip.replace(/\./g, '\\.')));
    }
  });

  it('refuses a host port another container publishes, per protocol and address', () => {
    const tcp8080 = { hostPort: 8080, containerPort: 80, protocol: 'tcp' as const };
    const first = decideAllocations([request(1, { ports: [tcp8080] })], emptyNode(), subnet, 'n1');
    const state = foldNode(first.events);
    const clash = decideAllocations(
      [request(2, { ports: [{ ...tcp8080, hostIp: '127.0.0.1' }] })],
      state,
      subnet,
      'n1',
    );
    assert.ok(clash.decisions[0]!.kind === 'failed');
    assert.equal(clash.decisions[0]!.code, NetworkErrorCode.PortInUse);
    assert.match(clash.decisions[0]!.message, /127\.0\.0\.1:8080\/tcp/);
    const udp = decideAllocations(
      [request(2, { ports: [{ ...tcp8080, protocol: 'udp' }] })],
      state,
      subnet,
      'n1',
    );
    assert.equal(udp.decisions[0]!.kind, 'allocated');
    const twice = decideAllocations(
      [
        request(3, {
          ports: [
            { ...tcp8080, hostPort: 9000 },
            { ...tcp8080, hostPort: 9000 },
          ],
        }),
      ],
      state,
      subnet,
      'n1',
    );
    assert.equal(twice.decisions[0]!.kind, 'failed');
  });

  it('releases once: a second release decides nothing', () => {
    const state = foldNode(decideAllocations([request(1)], emptyNode(), subnet, 'n1').events);
    const release = decideRelease(id(1), 'container-removed', state, 'n1');
    assert.deepEqual(release?.data, {
      containerId: id(1),
      node: 'n1',
      ip: '10.77.3.2',
      reason: 'container-removed',
    });
    assert.equal(decideRelease(id(1), 'container-removed', foldNode([release!], state), 'n1'), undefined);
  });
});
