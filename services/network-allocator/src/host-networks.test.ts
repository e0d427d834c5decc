import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NetworkErrorCode } from '@lxr/events';
import { NetworkError } from './errors.js';
import { choosePool, type HostNetwork } from './host-networks.js';
import { formatCidr, parseCidr } from './ipv4.js';

const route = (cidr: string, device = 'eth0'): HostNetwork => ({
  network: parseCidr(cidr)!,
  device,
  source: 'route',
});

describe('choosePool', () => {
  it('takes the first default pool that overlaps nothing on the host', () => {
    assert.equal(formatCidr(choosePool(undefined, [route('192.0.2.0/24')])), '10.88.0.0/16');
    assert.equal(formatCidr(choosePool(undefined, [route('10.88.5.0/24', 'cni0')])), '10.89.0.0/16');
    assert.equal(formatCidr(choosePool(undefined, [route('10.0.0.0/8')])), '172.29.0.0/16');
  });

  it('refuses a configured pool that clashes, naming what it overlaps', () => {
    assert.throws(
      () => choosePool('10.1.0.0/16', [route('10.1.2.0/24', 'wg0')]),
      (error: unknown) =>
        error instanceof NetworkError &&
        error.code === NetworkErrorCode.PoolClash &&
        /LXR_NETWORK_POOL 10\.1\.0\.0\/16 overlaps .*route 10\.1\.2\.0\/24 on wg0/.test(error.message),
    );
  });

  it('refuses a malformed pool', () => {
    for (const bad of ['10.1.0.1/16', 'ten/8', '10.1.0.0/29', '10.1.0.0']) {
      assert.throws(
        () => choosePool(bad, []),
        (e: unknown) => e instanceof NetworkError && e.code === NetworkErrorCode.PoolInvalid,
        bad,
      );
    }
  });

  it('fails when every default clashes', () => {
    assert.throws(
      () => choosePool(undefined, [route('0.0.0.0/1'), route('128.0.0.0/1')]),
      (e: unknown) => e instanceof NetworkError && e.code === NetworkErrorCode.PoolClash,
    );
  });
});
