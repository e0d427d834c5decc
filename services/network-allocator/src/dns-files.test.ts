import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostsFile, resolvConf } from './dns-files.js';

describe('container name files', () => {
  it('resolv.conf keeps reachable nameservers, search and options, and drops loopback ones', () => {
    const host = 'nameserver 127.0.0.53\nnameserver 10.1.2.3\nsearch example.org\noptions edns0\n';
    assert.equal(resolvConf(host, ['8.8.8.8']), 'nameserver 10.1.2.3\nsearch example.org\noptions edns0\n');
  });

  it('resolv.conf falls back to the configured servers when only loopback ones are left', () => {
    assert.equal(
      resolvConf('nameserver 127.0.0.53\nsearch lan\n', ['8.8.8.8', '8.8.4.4']),
      'search lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n',
    );
    assert.equal(resolvConf('', ['1.1.1.1']), 'nameserver 1.1.1.1\n');
  });

  it('hosts lists loopback, the container itself first, then the others', () => {
    const text = hostsFile({ ip: '10.0.0.2', names: ['web', 'abc'] }, [{ ip: '10.0.0.3', names: ['db'] }]);
    const lines = text.trim().split('\n');
    assert.equal(lines[0], '127.0.0.1\tlocalhost');
    assert.equal(lines[2], '10.0.0.2\tweb abc');
    assert.equal(lines[3], '10.0.0.3\tdb');
  });
});
