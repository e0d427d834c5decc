// A shell in a container: xterm.js over the exec WebSocket (GET /v1/containers/{ref}/exec).
import { FitAddon } from '/console/vendor/addon-fit.mjs';
import { Terminal } from '/console/vendor/xterm.mjs';

// Frame types of the exec WebSocket (byte 0 of every binary message).
const STDIN = 0;
const RESIZE = 1;
const STDOUT = 1;
const STDERR = 2;
const EXIT = 3;

// bash where the image has it, else the POSIX shell every image (busybox included) has.
const SHELL = 'if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l';

const encoder = new TextEncoder();

function frame(type, payload) {
  const out = new Uint8Array(payload.length + 1);
  out[0] = type;
  out.set(payload, 1);
  return out;
}

/**
 * Opens a terminal in `element` running a login shell in the container; `onStatus` hears
 * `connecting`, `connected` and how it ended. Returns `close()`.
 */
export function openTerminal(element, containerId, onStatus) {
  const terminal = new Terminal({
    cursorBlink: true,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", monospace',
    fontSize: 14,
    scrollback: 5000,
  });
  const fit = new FitAddon();
  terminal.loadAddon(fit);
  terminal.open(element);
  fit.fit();

  const query = new URLSearchParams({
    tty: 'true',
    interactive: 'true',
    rows: String(terminal.rows),
    cols: String(terminal.cols),
    env: 'TERM=xterm-256color',
  });
  for (const arg of ['/bin/sh', '-c', SHELL]) query.append('cmd', arg);
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  const url = `${scheme}://${location.host}/v1/containers/${encodeURIComponent(containerId)}/exec?${query}`;
  const socket = new WebSocket(url);
  socket.binaryType = 'arraybuffer';
  // Once closed by the page, the socket's late events must not touch a newer terminal's status.
  let closed = false;
  const report = (status) => closed || onStatus(status);
  report('connecting…');

  const send = (type, payload) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(frame(type, payload));
  };
  let ended = false;
  socket.addEventListener('open', () => {
    report('connected');
    terminal.focus();
  });
  socket.addEventListener('message', (message) => {
    if (closed) return;
    const data = new Uint8Array(message.data);
    if (data[0] === STDOUT || data[0] === STDERR) {
      terminal.write(data.subarray(1));
    } else if (data[0] === EXIT) {
      ended = true;
      const exit = JSON.parse(new TextDecoder().decode(data.subarray(1)) || '{}');
      report(
        exit.error
          ? `failed: ${exit.error}`
          : `exited${exit.signal ? ` on ${exit.signal}` : ` with code ${exit.exitCode}`}`,
      );
    }
  });
  socket.addEventListener('close', (event) => {
    // A handshake refused (container not running, session ended) closes before any exit frame.
    if (!ended) report(event.code === 1006 ? 'could not connect (is it running?)' : 'disconnected');
  });
  const input = terminal.onData((text) => send(STDIN, encoder.encode(text)));
  const binary = terminal.onBinary((text) =>
    send(
      STDIN,
      Uint8Array.from(text, (c) => c.charCodeAt(0)),
    ),
  );
  const resize = terminal.onResize(({ rows, cols }) => {
    send(RESIZE, new Uint8Array([rows >> 8, rows & 0xff, cols >> 8, cols & 0xff]));
  });
  const observer = new ResizeObserver(() => fit.fit());
  observer.observe(element);

  return {
    close() {
      closed = true;
      observer.disconnect();
      input.dispose();
      binary.dispose();
      resize.dispose();
      socket.close();
      terminal.dispose();
    },
  };
}
