/**
 * Terminals: the runtime allocates a pty in the container's devpts and sends the master over
 * --console-socket (received by lxr-recvtty); lxr-init gives the command the terminal's foreground.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { nativeDir, requiresRoot } from '@lxr/testkit';
import { facts, runtimes, Sandbox } from './harness.js';

const skip = requiresRoot();

/** lxr-recvtty on a fresh socket: what the pty printed, and a way to type into it. */
async function recvtty(
  box: Sandbox,
): Promise<{ socket: string; child: ChildProcess; output: () => string; done: Promise<void> }> {
  const socket = path.join(box.dir, `tty-${box.id()}.sock`);
  const child = spawn(path.join(nativeDir(), 'lxr-recvtty'), [socket], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout!.on('data', (d) => {
    out += d;
  });
  const done = new Promise<void>((resolve) => child.on('close', () => resolve()));
  box.onCleanup(async () => {
    child.kill('SIGKILL');
    await done;
  });
  for (let i = 0; i < 200 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 10));
  return { socket, child, output: () => out.replace(/\r/g, ''), done };
}

async function eventually(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const TTY_REPORT =
  'echo tty=$(tty); [ -t 0 ] && echo stdin=tty; echo pgrp=$(cut -d" " -f5 /proc/$$/stat); echo tpgid=$(cut -d" " -f8 /proc/$$/stat)';

for (const rt of runtimes()) {
  describe(`${rt.name}: terminals`, { skip, concurrency: false }, () => {
    test('exec --tty sends the pty master over the console socket', async () => {
      const box = await Sandbox.create();
      try {
        const id = await box.start(rt, await box.bundle({ args: ['sleep', '1000'] }));
        const tty = await recvtty(box);
        const pidFile = path.join(box.dir, 'exec.pid');
        const r = await box.runtime(
          rt,
          [
            'exec',
            '--detach',
            '--tty',
            '--console-socket',
            tty.socket,
            '--pid-file',
            pidFile,
            id,
            'sh',
            '-c',
            TTY_REPORT,
          ],
          undefined,
          { detached: true },
        );
        assert.equal(r.code, 0, r.stderr);
        await tty.done;
        const f = facts(tty.output());
        assert.match(f.tty ?? '', /^\/dev\/pts\/\d+$/);
        assert.equal(f.stdin, 'tty');
      } finally {
        await box.cleanup();
      }
    });

    test('a terminal container: lxr-init gives the command the foreground, Ctrl-C reaches it', async () => {
      const box = await Sandbox.create();
      try {
        const script = `${TTY_REPORT}; trap "echo got=int; exit 3" INT; echo ready=1; while true; do sleep 0.05; done`;
        const bundle = await box.bundle({ args: ['sh', '-c', script], terminal: true, init: true });
        const tty = await recvtty(box);
        const id = box.id();
        const created = await box.runtime(
          rt,
          ['create', '--bundle', bundle.dir, '--console-socket', tty.socket, id],
          id,
          {
            detached: true,
          },
        );
        assert.equal(created.code, 0, created.stderr);
        assert.equal((await box.runtime(rt, ['start', id])).code, 0);
        await eventually(() => tty.output().includes('ready=1'), 'the container to be ready');
        const f = facts(tty.output());
        assert.match(f.tty ?? '', /^\/dev\/pts\/\d+$/);
        assert.equal(f.pgrp, f.tpgid, 'the command’s process group owns the terminal');
        assert.notEqual(f.pgrp, '1', 'and it is not lxr-init’s');
        tty.child.stdin!.write('\x03');
        await eventually(() => tty.output().includes('got=int'), 'Ctrl-C to reach the command');
        await box.waitStopped(rt, id);
      } finally {
        await box.cleanup();
      }
    });
  });
}

describe('lxr-runtime: exec --tty without --detach', { skip }, () => {
  test('waits for the process and returns its exit status', async () => {
    const rt = runtimes()[0]!;
    const box = await Sandbox.create();
    try {
      const id = await box.start(rt, await box.bundle({ args: ['sleep', '1000'] }));
      const tty = await recvtty(box);
      const r = await box.runtime(rt, [
        'exec',
        '--tty',
        '--console-socket',
        tty.socket,
        id,
        'sh',
        '-c',
        'tty; exit 4',
      ]);
      assert.equal(r.code, 4, r.stderr);
      await tty.done;
      assert.match(tty.output(), /\/dev\/pts\/\d+/);
    } finally {
      await box.cleanup();
    }
  });
});
