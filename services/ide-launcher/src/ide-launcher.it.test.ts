// The ide-launcher end to end on one node, as root: real PostgreSQL, NATS, executor, containers
// and code-server from the tools bundle (built by infra/setup.sh), and the real api-gateway process
// proxying /ide/{name}/ to it.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type DetachedExecReply,
  type EventData,
  executorSubject,
  ideStream,
  type RecordedEvent,
  type RootfsMount,
} from '@lxr/events';
import { type ExecutorHarness, startExecutorHarness } from '@lxr/executor/testing';
import {
  debRootfs,
  freePort,
  type ManagedProcess,
  repoRoot,
  requiresRoot,
  startService,
  waitFor,
} from '@lxr/testkit';
import { launchBrowser, requiresChromium } from '@lxr/testkit/browser';
import { identify } from './node/process-watch.js';

const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));
const GATEWAY = path.join(repoRoot, 'services/api-gateway/dist/main.js');
const TOOLS = process.env['LXR_TOOLS_DIR'] ?? '/var/lib/lxr/tools/current';
const toolsMissing = existsSync(path.join(TOOLS, 'bin/code-server'))
  ? false
  : `no tools bundle at ${TOOLS} (infra/setup.sh builds it; LXR_TOOLS_DIR points elsewhere)`;

describe('ide-launcher', { skip: requiresRoot() || toolsMissing, concurrency: 1 }, () => {
  let h: ExecutorHarness;
  let launcher: ManagedProcess;
  let gateway: ManagedProcess;
  let api: string;
  let token: string;
  let scratch: string;
  const tools: RootfsMount[] = [];

  before(async () => {
    tools.push({
      destination: '/opt/lxr',
      source: realpathSync(TOOLS),
      type: 'bind',
      options: ['rbind', 'ro'],
    });
    scratch = await mkdtemp(path.join(tmpdir(), 'lxr-ide-it-'));
    h = await startExecutorHarness();
    await h.startExecutor();
    launcher = await startService(
      MAIN,
      path.join(h.home, 'ide-launcher.log'),
      { ...h.env, LXR_IDE_WATCH_MS: '100' },
      'the ide-launcher',
    );
    const port = await freePort();
    gateway = await startService(
      GATEWAY,
      path.join(h.home, 'gateway.log'),
      { ...h.env, LXR_API_PORT: String(port) },
      'the gateway',
    );
    api = `http://127.0.0.1:${port}`;
    token = (await readFile(path.join(h.home, 'api-token'), 'utf8')).trim();
  });

  after(async () => {
    await gateway?.stop(5_000);
    await launcher?.stop(5_000);
    await h?.dispose();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const ideEvents = (id: string) => h.store.readStream(ideStream(id));

  /** A glibc-based image, from Debian's libc6 and (dynamically linked) busybox; built once. */
  let glibc: Promise<string> | undefined;
  const glibcImage = () =>
    (glibc ??= (async () => {
      const image = path.join(scratch, 'glibc');
      await debRootfs(image, ['libc6', 'busybox']);
      for (const applet of ['sh', 'sleep', 'ls', 'cat', 'grep', 'echo'])
        await symlink('busybox', path.join(image, 'bin', applet));
      for (const dir of ['proc', 'sys', 'dev', 'tmp', 'root', 'workspace'])
        await mkdir(path.join(image, dir), { recursive: true });
      await writeFile(path.join(image, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
      await writeFile(path.join(image, 'etc/group'), 'root:x:0:\n');
      return image;
    })());

  /** Waits for the `nth` event of `type` in the container's IDE stream; shows the launcher's log otherwise. */
  async function waitIde<T extends 'IdeReady' | 'IdeExited' | 'IdeFailed'>(
    id: string,
    type: T,
    nth = 1,
    timeoutMs = 90_000,
  ): Promise<EventData<T>> {
    let found: RecordedEvent | undefined;
    await waitFor(
      async () => {
        found = (await ideEvents(id)).filter((e) => e.type === type)[nth - 1];
        return found !== undefined;
      },
      `${type} #${nth} of ${id.slice(0, 12)}`,
      timeoutMs,
      100,
    ).catch(async (error: Error) => {
      const log = await readFile(launcher.logFile, 'utf8').catch(() => '');
      const events = (await ideEvents(id)).map((e) => `${e.type} ${JSON.stringify(e.data)}`);
      throw new Error(
        `${error.message}\nide events:\n${events.join('\n')}\nlauncher log:\n${log.slice(-3000)}`,
      );
    });
    return found!.data as EventData<T>;
  }

  const ide = (name: string, init: RequestInit & { bearer?: boolean; query?: string } = {}) =>
    fetch(`${api}/ide/${name}/${init.query ?? ''}`, {
      redirect: 'manual',
      ...init,
      headers: { ...(init.bearer === false ? {} : { authorization: `Bearer ${token}` }), ...init.headers },
    });

  /** A WebSocket handshake to code-server through the gateway, as a browser sends it; resolves with its status. */
  function upgrade(name: string, origin: string): Promise<number> {
    const query = `reconnectionToken=${randomUUID()}&reconnection=false&skipWebSocketFrames=false`;
    return new Promise((resolve, reject) => {
      const request = http.request(`${api}/ide/${name}/?${query}`, {
        headers: {
          authorization: `Bearer ${token}`,
          connection: 'Upgrade',
          upgrade: 'websocket',
          origin,
          'sec-websocket-version': '13',
          'sec-websocket-key': randomBytes(16).toString('base64'),
        },
      });
      request.once('upgrade', (response, socket) => {
        socket.destroy();
        resolve(response.statusCode ?? 0);
      });
      request.once('response', (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.once('error', reject);
      request.end();
    });
  }

  it('starts code-server in a busybox-only container; the gateway serves it on /ide/{name}/ and only with the token', async () => {
    const name = 'ide-busybox';
    const id = await h.create({ name, ide: true, command: ['sleep', '3600'], mounts: tools });
    const ready = await waitIde(id, 'IdeReady');
    assert.equal(ready.url, `/ide/${name}/`);
    assert.equal(ready.attempt, 1);
    assert.ok(ready.socketPath.endsWith('/.lxr-ide/code-server.sock'), ready.socketPath);

    // code-server sends the browser on to the folder, relative to where it is served.
    const root = await ide(name);
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), './?folder=/');
    const page = await ide(name, { query: '?folder=/' });
    assert.equal(page.status, 200, await page.clone().text());
    assert.match(await page.text(), /workbench/, 'the VS Code workbench page');

    const noToken = await ide(name, { bearer: false });
    assert.equal(noToken.status, 401, 'a program without the token is refused');
    // A browser (fetch cannot send Sec-Fetch-Mode: navigate) is sent to the login page instead.
    const browser = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http
        .get(
          `${api}/ide/${name}/`,
          { headers: { accept: 'text/html', 'sec-fetch-mode': 'navigate' } },
          resolve,
        )
        .on('error', reject),
    );
    browser.resume();
    assert.equal(browser.statusCode, 302);
    assert.equal(browser.headers.location, `/login?next=${encodeURIComponent(`/ide/${name}/`)}`);

    assert.equal(
      await upgrade(name, api),
      101,
      "code-server accepts the WebSocket with the gateway's origin",
    );
    assert.equal(await upgrade(name, 'http://evil.example'), 403, "and refuses another site's");
  });

  it('starts code-server in a glibc-based image (Debian libc6 + busybox)', async () => {
    const image = await glibcImage();
    const name = 'ide-glibc';
    const id = await h.create({ name, ide: true, rootfs: image, command: ['sleep', '3600'], mounts: tools });
    await waitIde(id, 'IdeReady');
    const page = await ide(name, { query: '?folder=/workspace' });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /workbench/);
    assert.equal((await ide(name)).headers.get('location'), './?folder=/workspace', 'it opens /workspace');
    // With /workspace in the image, the IDE keeps its state there (a volume survives the container).
    assert.ok(existsSync(path.join(h.home, 'containers', id, 'rootfs', 'workspace', '.lxr-ide', 'data')));
  });

  it('launches code-server again when it is killed inside the container', async () => {
    const name = 'ide-restart';
    const id = await h.create({ name, ide: true, command: ['sleep', '3600'], mounts: tools });
    const first = await waitIde(id, 'IdeReady');
    const killed = await h.exec(id, {
      // busybox has no pkill: the process whose command line is code-server's launcher, not this shell.
      args: [
        'sh',
        '-c',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell script; ${…} is the shell's
        'for d in /proc/[0-9]*; do [ "${d#/proc/}" = "$$" ] && continue; case "$(tr "\\0" " " <$d/cmdline)" in "/opt/lxr/bin/node /opt/lxr/bin/code-server "*) kill -9 "${d#/proc/}" && echo killed;; esac; done',
      ],
      tty: false,
      interactive: false,
    });
    assert.equal(killed.stdout, 'killed\n', JSON.stringify(killed));
    const exited = await waitIde(id, 'IdeExited');
    assert.equal(exited.reason, 'died');
    const second = await waitIde(id, 'IdeReady', 2);
    assert.equal(second.attempt, 2);
    assert.notEqual(second.pid, first.pid);
    assert.equal((await ide(name)).status, 302, 'the gateway reaches the new code-server');
  });

  it('adopts a running code-server when the launcher restarts, and still relaunches it when it dies', async () => {
    const name = 'ide-adopt';
    const id = await h.create({ name, ide: true, command: ['sleep', '3600'], mounts: tools });
    const first = await waitIde(id, 'IdeReady');
    await launcher.stop(5_000);
    launcher = await startService(
      MAIN,
      path.join(h.home, 'ide-launcher-2.log'),
      { ...h.env, LXR_IDE_WATCH_MS: '100' },
      'the ide-launcher (restarted)',
    );
    await waitFor(
      async () => (await readFile(launcher.logFile, 'utf8')).includes('adopted a running code-server'),
      'the new launcher to adopt code-server',
      20_000,
    );
    assert.deepEqual(
      (await ideEvents(id)).map((e) => e.type),
      ['IdeStarting', 'IdeReady'],
      'no second code-server',
    );
    // A code-server some launcher started and lost (it crashed before IdeReady): the next launch ends it.
    const lost = await h.bus.request<DetachedExecReply>(executorSubject(h.node, 'exec'), {
      session: `lost-${randomBytes(4).toString('hex')}`,
      containerId: id,
      args: ['/opt/lxr/bin/code-server', '--socket', '/tmp/lost.sock', '--auth', 'none', '/'],
      tty: false,
      interactive: false,
      detach: true,
    });
    assert.ok(await identify(lost.pid), 'the lost code-server runs');
    process.kill(first.pid, 'SIGKILL');
    const second = await waitIde(id, 'IdeReady', 2);
    assert.notEqual(second.pid, first.pid);
    assert.equal(await identify(lost.pid), undefined, 'the lost code-server was killed before the relaunch');
  });

  it('stops code-server when the container is removed, and records it', async () => {
    const name = 'ide-removed';
    const id = await h.create({ name, ide: true, command: ['sleep', '3600'], mounts: tools });
    const ready = await waitIde(id, 'IdeReady');
    await h.append(id, { type: 'ContainerRemoved', data: { containerId: id, name } });
    const exited = await waitIde(id, 'IdeExited');
    assert.equal(exited.reason, 'removed');
    await waitFor(async () => !existsSync(`/proc/${ready.pid}`), 'code-server to be gone', 10_000);
  });

  it('renders the VS Code workbench in headless Chromium (glibc image), logged in through the gateway, with a working terminal', {
    skip: requiresChromium(),
  }, async () => {
    const name = 'ide-browser';
    const id = await h.create({
      name,
      ide: true,
      rootfs: await glibcImage(),
      command: ['sleep', '3600'],
      mounts: tools,
    });
    await waitIde(id, 'IdeReady');
    const session = await launchBrowser({ timeoutMs: 60_000 });
    try {
      const { page } = session;
      const sockets: string[] = [];
      page.on('websocket', (ws) => sockets.push(ws.url()));
      // ?access_token= gives the browser the session cookie and drops the token from the URL.
      await page.goto(`${api}/ide/${name}/?access_token=${token}`);
      await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
      // The workbench is connected to its server (the remote explorer shows the folder's files).
      await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60_000 });
      assert.ok(!page.url().includes('access_token'), page.url());
      assert.ok(new URL(page.url()).pathname.startsWith(`/ide/${name}/`), page.url());
      assert.ok(
        sockets.some((url) => url.startsWith(`${api.replace('http', 'ws')}/ide/${name}/`)),
        `the workbench's WebSocket goes through the gateway: ${sockets.join(', ')}`,
      );
      // A terminal (node-pty, a native module of the bundle) runs the image's shell with the image's
      // own libc: nothing of /opt/lxr in its environment or its memory map.
      await page.keyboard.press('Control+Backquote');
      await page.waitForSelector('.terminal-wrapper .xterm', { timeout: 60_000 });
      await page.locator('.terminal-wrapper .xterm').click();
      const marker = path.join(h.home, 'containers', id, 'rootfs', 'workspace', 'terminal.txt');
      await page.keyboard.type(
        'echo "ld=[$LD_LIBRARY_PATH] maps=$(grep -c /opt/lxr /proc/$$/maps) libc=$(grep -c /lib/x86_64-linux-gnu/libc.so /proc/$$/maps)" > /workspace/terminal.txt\n',
      );
      await waitFor(async () => existsSync(marker), 'the terminal to run the command', 30_000);
      assert.match(await readFile(marker, 'utf8'), /^ld=\[\] maps=0 libc=[1-9]/);
      // For the screenshot: the terminal has drawn the next prompt (cosmetic, so not asserted).
      await page
        .waitForFunction(
          "(document.querySelector('.terminal-wrapper .xterm-rows')?.textContent ?? '').split('# ').length > 2",
          undefined,
          { timeout: 5_000 },
        )
        .catch(() => undefined);
      await mkdir(path.join(repoRoot, 'test-artifacts'), { recursive: true });
      await page.screenshot({ path: path.join(repoRoot, 'test-artifacts', 'ide-workbench.png') });
      // The only thing the workbench asks off this machine (refused here by the browser's flags) is
      // code-server's extension gallery, Open VSX: no telemetry, no update checks.
      const off = session.offLoopback().filter((url) => new URL(url).hostname !== 'open-vsx.org');
      assert.deepEqual(off, [], 'nothing but the extension gallery off this machine');
    } finally {
      await session.close();
    }
  });

  it('fails with IDE_TOOLS_MISSING when the container has no /opt/lxr', async () => {
    const id = await h.create({ name: 'ide-no-tools', ide: true, command: ['sleep', '3600'] });
    const failed = await waitIde(id, 'IdeFailed');
    assert.equal(failed.code, 'IDE_TOOLS_MISSING', failed.message);
    // Its mounts never change: no relaunch (the first backoff would be 0.5 s).
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(
      (await ideEvents(id)).map((e) => e.type),
      ['IdeStarting', 'IdeFailed'],
    );
  });
});
