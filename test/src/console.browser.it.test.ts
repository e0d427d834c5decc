// The web console end to end in headless Chromium (kept on loopback), as a person uses it: log in,
// create a container, watch it reach running, run a command in its terminal, open its IDE and see
// the VS Code workbench, remove it. Root only (the real `lxr up`); screenshots go to test-artifacts/.
import assert from 'node:assert/strict';
import { existsSync, realpathSync } from 'node:fs';
import { cp, mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, requiresRoot, startRegistry, type TestRegistry } from '@lxr/testkit';
import { type BrowserSession, launchBrowser, type Page, requiresChromium } from '@lxr/testkit/browser';
import { createSuite, pushBusybox, type Suite } from './suite.js';

const ARTIFACTS = path.resolve(import.meta.dirname, '../../test-artifacts');
/** code-server and its runtime, as infra/setup.sh builds them (the IDE steps need it). */
const TOOLS = process.env['LXR_TOOLS_DIR'] ?? '/var/lib/lxr/tools/current';
const hasTools = existsSync(path.join(TOOLS, 'bin/code-server'));

describe('the web console in a browser', {
  skip: requiresRoot() || requiresChromium(),
  timeout: 600_000,
}, () => {
  let suite: Suite;
  let registry: TestRegistry;
  let session: BrowserSession;
  let page: Page;
  let image: string;
  let base: string;

  before(async () => {
    suite = await createSuite();
    registry = await startRegistry();
    image = await pushBusybox(registry, 'test/busybox');
    if (hasTools) {
      // The rootfs-builder mounts $LXR_HOME/tools/current at /opt/lxr; this home's is the machine's.
      await mkdir(path.join(suite.home, 'tools'), { recursive: true });
      await symlink(realpathSync(TOOLS), path.join(suite.home, 'tools', 'current'));
    }
    const up = await suite.lxr('up');
    assert.equal(up.code, 0, `lxr up failed: ${up.stderr}`);
    base = `http://127.0.0.1:${suite.apiPort}`;
    await rm(path.join(ARTIFACTS, 'logs'), { recursive: true, force: true });
    await mkdir(ARTIFACTS, { recursive: true });
    session = await launchBrowser({ timeoutMs: 60_000 });
    page = session.page;
  });

  after(async () => {
    await session?.close();
    // The services' logs go with the screenshots, for whoever looks into a failure.
    if (suite)
      await cp(path.join(suite.home, 'logs'), path.join(ARTIFACTS, 'logs'), { recursive: true }).catch(
        () => {},
      );
    const left = await suite?.lxr('ps', '-aq', '--no-trunc');
    for (const id of left?.stdout.split('\n').filter(Boolean) ?? []) await suite.lxr('rm', '-f', id);
    await suite?.dispose();
    await registry?.dispose();
  });

  it('sends a browser to the login form, refuses a wrong token, and logs in', async () => {
    await page.goto(`${base}/`);
    assert.equal(new URL(page.url()).pathname, '/login');
    assert.equal(new URL(page.url()).searchParams.get('next'), '/console/');
    await page.fill('#token', 'not-the-token');
    await page.click('button[type=submit]');
    assert.match((await page.textContent('[role=alert]')) ?? '', /not the API token/);

    const token = (await readFile(path.join(suite.home, 'api-token'), 'utf8')).trim();
    await page.fill('#token', token);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/console/`);
    await page.waitForSelector('#live[data-state=live]');
    const cookie = (await session.context.cookies()).find((c) => c.name === 'lxr_session');
    assert.ok(cookie?.httpOnly && cookie.sameSite === 'Strict');
    assert.ok(!cookie.value.includes(token), 'the cookie is not the token');
  });

  it('creates a container that reaches running, live in the table', async () => {
    await page.fill('#create [name=image]', image);
    await page.fill('#create [name=name]', 'dev');
    await page.click('#create button[type=submit]');
    // The console goes to the container's page; its timeline fills in as the events arrive.
    await page.waitForSelector('#detail-view[data-state=running]', { timeout: 120_000 });
    await page.waitForSelector('#timeline [data-step=started].step-done');
    for (const step of ['requested', 'image', 'rootfs', 'network', 'started']) {
      const text = await page.textContent(`#timeline [data-step=${step}]`);
      assert.match(text ?? '', /✓/, `${step} done: ${text}`);
    }
    assert.match(
      (await page.textContent('#timeline [data-step=image] .step-duration')) ?? '',
      /\d+(\.\d)? (ms|s)/,
    );

    await page.goto(`${base}/console/#/`);
    const row = page.locator('#containers tr[data-name=dev]');
    await row.locator('.state-running').waitFor();
    assert.equal(await row.locator('td').nth(2).textContent(), image);
    assert.match((await row.locator('td').nth(3).textContent()) ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'console.png'), fullPage: true });
  });

  it('shows a failed creation with the reason in its timeline', async () => {
    await page.fill('#create [name=image]', `${image.split('/')[0]}/test/missing:1`);
    await page.fill('#create [name=name]', 'broken');
    await page.uncheck('#create [name=ide]');
    await page.click('#create button[type=submit]');
    const failed = page.locator('#timeline [data-step=image].step-failed');
    await failed.waitFor({ timeout: 60_000 });
    assert.match((await failed.locator('.step-reason').textContent()) ?? '', /^[A-Z][A-Z0-9_]+ \S/);
    assert.match(
      (await page.textContent('#timeline [data-step=rootfs]')) ?? '',
      /–/,
      'the rootfs step is blocked',
    );
    await page.locator('#detail-view[data-state=failed]').waitFor();
    assert.equal(await page.locator('#ide-slot').textContent(), '', 'no IDE asked for');
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-failed.png'), fullPage: true });
    await page.goto(`${base}/console/#/`);
    await page.locator('#containers tr[data-name=broken] .state-failed').waitFor();
  });

  it('runs a command in the terminal and shows its output; a resize reaches the shell', async () => {
    await page.click('#containers tr[data-name=dev] a');
    await page.waitForSelector('#detail-view[data-state=running]');
    await page.click('#open-terminal');
    const status = page.locator('#terminal-status');
    await status
      .filter({ hasText: /^(?!connecting)./ })
      .waitFor({ timeout: 20_000 })
      .catch(() => {});
    assert.equal(await status.textContent(), 'connected', `browser errors: ${session.errors().join('\n')}`);
    const screen = page.locator('#terminal .xterm-rows');
    // `stty size` prints "rows cols": what the shell's terminal is, after any resize frame.
    const lastSize = async () =>
      (await screen.locator(':scope > div').allTextContents())
        .map((line) => line.trim())
        .filter((line) => /^\d+\s\d+$/.test(line))
        .at(-1);
    await page.keyboard.type('echo lxr-$((6*7)); stty size\n');
    await screen.getByText('lxr-42').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-terminal.png'), fullPage: true });
    const before = await eventually('the first stty size', lastSize);
    await page.setViewportSize({ width: 900, height: 600 });
    await page.keyboard.type('clear; stty size\n');
    const resized = await eventually('stty size after the resize', async () => {
      const size = await lastSize();
      return size !== undefined && size !== before ? size : undefined;
    });
    const [rowsBefore, colsBefore] = before.split(/\s/).map(Number);
    const [rowsAfter, colsAfter] = resized.split(/\s/).map(Number);
    // The panel is as wide as the window and of a fixed height: fewer columns, the same rows.
    assert.ok(colsAfter! < colsBefore! && rowsAfter === rowsBefore, `${before} → ${resized}`);
    await page.setViewportSize({ width: 1280, height: 800 });
    // The shell's exit code comes back; the button then opens a fresh shell.
    await page.keyboard.type('exit 3\n');
    await status.filter({ hasText: 'exited with code 3' }).waitFor();
    await page.click('#open-terminal');
    await status.filter({ hasText: /^connected$/ }).waitFor();
    await page.keyboard.type('echo again-$((1+1))\n');
    await screen.getByText('again-2').waitFor();
  });

  it('refuses the cookie to a page on another port of this host (same site, another origin)', async () => {
    // SameSite lets the cookie go along (ports do not make another site): the origin check must hold.
    const other = createServer((_request, response) => response.end('<!doctype html><title>other</title>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = other.address() as AddressInfo;
      const probe = await session.context.newPage();
      await probe.goto(`http://127.0.0.1:${port}/`);
      const ws = `ws://127.0.0.1:${suite.apiPort}/v1/containers/dev/exec?cmd=id`;
      const outcome = await probe.evaluate(
        (url) =>
          new Promise<string>((resolve) => {
            const socket = new WebSocket(url);
            socket.onopen = () => resolve('open');
            socket.onclose = (event) => resolve(`closed ${event.code}`);
          }),
        ws,
      );
      assert.equal(outcome, 'closed 1006', 'the handshake is refused');
      // Refused by the origin check (403), not for want of a cookie (401): the cookie did go along.
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(
        metrics,
        /lxr_http_requests_total\{[^}]*route="\/v1\/containers\/:ref\/exec"[^}]*status="403"[^}]*\} 1/,
      );
      await probe.close();
    } finally {
      other.close();
    }
  });

  it('opens the IDE and the VS Code workbench renders', {
    skip: hasTools ? false : `no tools bundle at ${TOOLS}`,
  }, async () => {
    await page.waitForSelector('#timeline [data-step=ide].step-done', { timeout: 120_000 });
    await page.locator('a#open-ide').waitFor();
    await page.screenshot({ path: path.join(ARTIFACTS, 'console-container.png'), fullPage: true });
    const [ide] = await Promise.all([session.context.waitForEvent('page'), page.click('a#open-ide')]);
    await ide.waitForSelector('.monaco-workbench', { timeout: 120_000 });
    assert.match(new URL(ide.url()).pathname, /^\/ide\/dev\//);
    // The explorer shows the workspace folder once the workbench has connected to its server.
    await ide
      .getByText(/workspace/i)
      .first()
      .waitFor({ timeout: 60_000 });
    await ide.screenshot({ path: path.join(ARTIFACTS, 'ide.png') });
    await ide.close();
  });

  it('removes the container', async () => {
    page.once('dialog', (dialog) => dialog.accept());
    await page.click('#remove');
    await page.waitForURL(/#\/$/);
    await page.locator('#containers tr[data-name=dev]').waitFor({ state: 'detached' });
  });

  it('logs out', async () => {
    await page.click('.logout button');
    await page.waitForURL(`${base}/login`);
    await page.goto(`${base}/console/`);
    assert.equal(new URL(page.url()).pathname, '/login');
  });

  it('sent nothing anywhere but loopback', () => {
    assert.deepEqual(session.offLoopback(), []);
  });
});
