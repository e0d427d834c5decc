// A service for service.it.test.ts to run as a child process: runService with hooks that log
// when they run, so the test can check the shutdown order. Not part of the public API.
import { field } from './config.js';
import { runService } from './service.js';

const env = process.env;
await runService({
  name: env['FIXTURE_SERVICE'] ?? 'executor',
  perNode: true,
  version: '9.9.9',
  config: { mode: field.oneOf('FIXTURE_MODE', ['ok', 'fail-start'], { default: 'ok' }) },
  heartbeat: {
    intervalMs: Number(env['FIXTURE_HEARTBEAT_INTERVAL_MS'] ?? 5_000),
    ttlMs: Number(env['FIXTURE_HEARTBEAT_TTL_MS'] ?? 15_000),
  },
  async start({ config, logger, bus, onStop, onShutdown, addReadinessCheck }) {
    if (config.mode === 'fail-start') throw new Error('fixture refuses to start');
    await bus.subscribe({ durable: 'fixture', handler: async () => {} });
    bus.reply('lxr.fixture.ping', async () => 'pong');
    addReadinessCheck('fixture', () => true);
    onStop('fixture-stop', () => logger.info({ hook: 'stop' }, 'fixture hook'));
    onShutdown('fixture-shutdown', () => logger.info({ hook: 'shutdown' }, 'fixture hook'));
  },
});
