import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commonConfigSpec } from './common-config.js';
import { field, loadConfig } from './config.js';
import { ConfigError, ServiceKitErrorCode, serviceKitErrorDescriptions } from './errors.js';

const spec = {
  port: field.port('T_PORT', { default: 8080 }),
  workers: field.integer('T_WORKERS', { min: 1, max: 64, default: 4 }),
  registry: field.url('T_REGISTRY', { protocols: ['http:', 'https:'] }),
  mirror: field.url('T_MIRROR', { optional: true }),
  mode: field.oneOf('T_MODE', ['dev', 'prod'], { default: 'dev' }),
  debug: field.boolean('T_DEBUG', { default: false }),
  token: field.string('T_TOKEN', { secret: true, pattern: /^[a-f0-9]{8,}$/, patternHint: 'a hex token' }),
  servers: field.urls('T_SERVERS', { protocols: ['nats:'], default: ['nats://127.0.0.1:4222'] }),
};

describe('loadConfig', () => {
  it('parses typed values and applies defaults', () => {
    const config = loadConfig(spec, {
      T_PORT: '9090',
      T_REGISTRY: 'http://127.0.0.1:5000',
      T_MODE: 'prod',
      T_DEBUG: 'yes',
      T_TOKEN: 'deadbeef',
      T_SERVERS: 'nats://a:4222, nats://b:4222',
      T_MIRROR: '',
    });
    assert.deepEqual(config, {
      port: 9090,
      workers: 4,
      registry: 'http://127.0.0.1:5000',
      mirror: undefined,
      mode: 'prod',
      debug: true,
      token: 'deadbeef',
      servers: ['nats://a:4222', 'nats://b:4222'],
    });
    // Compile-time: optional without default may be undefined, defaults are not.
    const mirror: string | undefined = config.mirror;
    const port: number = config.port;
    const mode: 'dev' | 'prod' = config.mode;
    assert.equal(typeof port, 'number');
    assert.equal(mirror, undefined);
    assert.equal(mode, 'prod');
  });

  it('fails with one error naming every bad variable', () => {
    assert.throws(
      () =>
        loadConfig(spec, {
          T_PORT: '70000',
          T_WORKERS: '2.5',
          T_REGISTRY: 'ftp://x',
          T_MODE: 'staging',
          T_DEBUG: 'maybe',
          T_TOKEN: 'not-hex-secret',
          T_SERVERS: 'nats://a:4222,oops',
        }),
      (error: ConfigError) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.code, ServiceKitErrorCode.ConfigInvalid);
        assert.equal(error.name, 'ConfigError');
        assert.deepEqual(
          error.issues.map((i) => i.variable),
          ['T_PORT', 'T_WORKERS', 'T_REGISTRY', 'T_MODE', 'T_DEBUG', 'T_TOKEN', 'T_SERVERS'],
        );
        assert.match(error.message, /^invalid configuration \(7 problems\):\n/);
        assert.match(error.message, /T_PORT: "70000" is not a port number \(0-65535\)/);
        assert.match(error.message, /T_WORKERS: "2.5" is not an integer in \[1, 64\]/);
        assert.match(error.message, /T_REGISTRY: "ftp:\/\/x" is not a http\/https URL/);
        assert.match(error.message, /T_MODE: "staging" is not one of dev, prod/);
        assert.match(error.message, /T_DEBUG: "maybe" is not a boolean/);
        assert.match(error.message, /T_TOKEN: \(value hidden\) is not a hex token/);
        assert.doesNotMatch(error.message, /not-hex-secret/);
        assert.match(error.message, /T_SERVERS: .*"oops" is not a URL/);
        return true;
      },
    );
  });

  it('reports missing required variables with their description', () => {
    assert.throws(
      () => loadConfig({ a: field.string('T_A', { description: 'the A thing' }), b: field.port('T_B') }, {}),
      (error: ConfigError) =>
        error.issues.length === 2 &&
        /T_A: is required but not set \(the A thing\)/.test(error.message) &&
        /T_B: is required but not set/.test(error.message),
    );
  });

  it('gives every service the common variables with their defaults', () => {
    const config = loadConfig(commonConfigSpec, {});
    assert.equal(config.home, '/var/lib/lxr');
    assert.deepEqual(config.natsServers, ['nats://127.0.0.1:4222']);
    assert.equal(config.databaseUrl, undefined);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.healthPort, 0);
    assert.match(config.node, /^[a-z0-9]/);
  });

  it('validates the common variables, hiding the database URL', () => {
    assert.throws(
      () =>
        loadConfig(commonConfigSpec, {
          LXR_HOME: 'relative/dir',
          LXR_NATS_URL: 'http://nats',
          LXR_DATABASE_URL: 'mysql://root:hunter2@db/lxr',
          LXR_NODE_NAME: 'node one',
          LXR_LOG_LEVEL: 'loud',
          LXR_HEALTH_PORT: 'abc',
        }),
      (error: ConfigError) => {
        assert.deepEqual(
          error.issues.map((i) => i.variable),
          [
            'LXR_HOME',
            'LXR_NATS_URL',
            'LXR_DATABASE_URL',
            'LXR_NODE_NAME',
            'LXR_LOG_LEVEL',
            'LXR_HEALTH_PORT',
          ],
        );
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      },
    );
  });
});

describe('service-kit errors', () => {
  it('documents every code', () => {
    for (const code of Object.values(ServiceKitErrorCode)) {
      assert.ok(serviceKitErrorDescriptions[code]?.length > 10, `${code} is described`);
    }
  });
});
