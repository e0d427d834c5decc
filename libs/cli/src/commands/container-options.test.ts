import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs } from '../argv.js';
import { UsageError } from '../errors.js';
import {
  containerOptionFlags,
  containerRequest,
  parsePublish,
  parseRestartPolicy,
  parseVolumes,
} from './container-options.js';

describe('container options', () => {
  it('parses -p as docker does', () => {
    assert.deepEqual(parsePublish(['80']), [{ hostPort: 0, containerPort: 80, protocol: 'tcp' }]);
    assert.deepEqual(parsePublish(['8080:80', '127.0.0.1:8081:81/udp', '127.0.0.1::82']), [
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostIp: '127.0.0.1', hostPort: 8081, containerPort: 81, protocol: 'udp' },
      { hostIp: '127.0.0.1', hostPort: 0, containerPort: 82, protocol: 'tcp' },
    ]);
    assert.deepEqual(
      parsePublish(['9000-9001:80-81']).map((p) => [p.hostPort, p.containerPort]),
      [
        [9000, 80],
        [9001, 81],
      ],
    );
  });

  it('refuses malformed -p values, naming them', () => {
    for (const bad of [
      '',
      'x',
      '70000',
      '1:2:3:4',
      '300.1.1.1:80:80',
      '80/sctp',
      '9000-9002:80-81',
      '0:80',
    ]) {
      assert.throws(
        () => parsePublish([bad]),
        (e: unknown) => e instanceof UsageError && e.message.includes(bad),
      );
    }
  });

  it('parses -v as docker does', () => {
    assert.deepEqual(
      parseVolumes(['data:/var/lib/data', '/srv/www:/usr/share/www:ro', '/cache', 'v1:/x:rw']),
      [
        { source: 'data', destination: '/var/lib/data' },
        { source: '/srv/www', destination: '/usr/share/www', readOnly: true },
        { destination: '/cache' },
        { source: 'v1', destination: '/x' },
      ],
    );
  });

  it('refuses malformed -v values, naming them', () => {
    for (const [spec, message] of [
      ['relative', /container path must be absolute/],
      ['data:relative', /container path must be absolute/],
      ['./here:/x', /neither an absolute host path nor a volume name/],
      ['a:/b:/c', /invalid volume spec "a:\/b:\/c"/],
      ['data::/x', /invalid volume spec/],
    ] as const) {
      assert.throws(
        () => parseVolumes([spec]),
        (e: Error) => e instanceof UsageError && message.test(e.message),
        spec,
      );
    }
  });

  it('parses --restart policies and refuses others', () => {
    assert.deepEqual(parseRestartPolicy('on-failure:3'), { name: 'on-failure', maximumRetryCount: 3 });
    assert.deepEqual(parseRestartPolicy('unless-stopped'), { name: 'unless-stopped' });
    for (const bad of ['sometimes', 'always:2', 'on-failure:x', 'on-failure:1:2']) {
      assert.throws(() => parseRestartPolicy(bad), UsageError);
    }
  });

  it('builds the request with only the options given', () => {
    const args = parseArgs(
      [
        '-it',
        '--rm',
        '-u',
        '1000:1000',
        '-w',
        '/src',
        '-p',
        '8080:80',
        '--restart',
        'always',
        'busybox',
        'sh',
      ],
      [...containerOptionFlags, { name: 'rm', kind: 'boolean', description: '' }],
      { stopAtFirstPositional: true },
    );
    assert.deepEqual(containerRequest(args, {}, { ide: false }), {
      image: 'busybox',
      env: [],
      labels: {},
      ide: false,
      command: ['sh'],
      ports: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }],
      user: '1000:1000',
      workingDir: '/src',
      tty: true,
      openStdin: true,
      restartPolicy: { name: 'always' },
    });
    const relative = parseArgs(['-w', 'src', 'busybox'], containerOptionFlags, {
      stopAtFirstPositional: true,
    });
    assert.throws(() => containerRequest(relative, {}, { ide: true }), /must be absolute/);
  });
});
