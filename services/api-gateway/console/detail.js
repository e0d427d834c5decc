// #/c/<id> — one container: its facts, creation timeline, logs, a terminal and the IDE link.
import { ApiError, api, containerPath } from './api.js';
import { h, settling, showError } from './dom.js';
import { ago, duration } from './format.js';
import { remove } from './list.js';
import { openTerminal } from './terminal.js';

const view = document.getElementById('detail-view');
const title = document.getElementById('detail-title');
const facts = document.getElementById('facts');
const timelineList = document.getElementById('timeline');
const logs = document.getElementById('logs');
const ideSlot = document.getElementById('ide-slot');
const terminalButton = document.getElementById('open-terminal');
const removeButton = document.getElementById('remove');
const terminalCard = document.getElementById('terminal-card');
const terminalBox = document.getElementById('terminal');
const terminalStatus = document.getElementById('terminal-status');

const STATUS_TEXT = { done: '✓', failed: '✗', pending: '…', blocked: '–', skipped: '–' };
const IDE_EVENTS = new Set(['IdeStarting', 'IdeReady', 'IdeFailed', 'IdeExited']);
const MAX_LOG_CHARS = 256 * 1024;

function renderFacts(c) {
  const entries = [
    ['State', h('span', { class: `state state-${c.state}` }, c.state)],
    ['Image', c.image],
    ['IP', c.ip ?? '—'],
    ['Node', c.node],
    ['Created', h('time', { datetime: c.createdAt, title: c.createdAt }, ago(c.createdAt))],
    ['ID', h('span', { class: 'mono' }, c.id.slice(0, 12))],
  ];
  if (c.exitCode !== null) entries.push(['Exit code', String(c.exitCode)]);
  if (c.ports.length > 0) {
    entries.push([
      'Ports',
      c.ports.map((p) => `${p.hostPort ?? '?'}→${p.containerPort}/${p.protocol}`).join(', '),
    ]);
  }
  facts.replaceChildren(...entries.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value)]));
}

function renderTimeline(timeline) {
  timelineList.replaceChildren(
    ...timeline.steps.map((step) =>
      h(
        'li',
        { class: `step step-${step.status}`, 'data-step': step.step },
        h('span', { class: 'step-mark', 'aria-hidden': 'true' }, STATUS_TEXT[step.status]),
        h('span', { class: 'step-label' }, step.label),
        h('span', { class: 'step-status sr-only' }, step.status),
        h('span', { class: 'step-duration' }, duration(step.durationMs)),
        step.sinceRequestedMs === undefined
          ? undefined
          : h('span', { class: 'step-at muted' }, `at +${duration(step.sinceRequestedMs)}`),
        step.reason
          ? h('p', { class: 'step-reason' }, h('code', {}, step.reason.code), ' ', step.reason.message)
          : undefined,
      ),
    ),
  );
}

/** The IDE answers now: its latest event is IdeReady and the container runs. */
function ideReady(c, timeline) {
  const last = timeline.events.filter((e) => IDE_EVENTS.has(e.type)).at(-1);
  return c.ide && c.state === 'running' && last?.type === 'IdeReady';
}

/** "Open IDE" once code-server answers; a disabled button saying why not before that. */
function renderIde(c, timeline) {
  if (!c.ide) return ideSlot.replaceChildren();
  if (ideReady(c, timeline)) {
    const href = `/ide/${encodeURIComponent(c.name)}/`;
    if (ideSlot.firstElementChild?.getAttribute('href') === href) return;
    return ideSlot.replaceChildren(
      h('a', { id: 'open-ide', class: 'button', href, target: '_blank', rel: 'noopener' }, 'Open IDE'),
    );
  }
  const why = c.state === 'running' ? 'IDE starting…' : 'IDE (not running)';
  ideSlot.replaceChildren(h('button', { id: 'open-ide', type: 'button', disabled: true }, why));
}

function appendLog(output) {
  const atBottom = logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 4;
  // A container with a terminal writes CRLF line ends; a <pre> would show the CR as a second break.
  logs.append(output.replaceAll('\r\n', '\n'));
  if (logs.textContent.length > MAX_LOG_CHARS) logs.textContent = logs.textContent.slice(-MAX_LOG_CHARS / 2);
  if (atBottom) logs.scrollTop = logs.scrollHeight;
}

/** Streams the logs (NDJSON, `follow`) into the panel until the container exits or `signal` aborts. */
async function followLogs(id, signal) {
  const response = await fetch(`/v1${containerPath(id, '/logs')}?tail=1000&follow=true`, {
    credentials: 'same-origin',
    signal,
  });
  if (!response.ok) {
    const problem = await response.json().catch(() => undefined);
    throw new ApiError(response.status, problem);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split('\n');
    buffer = lines.pop();
    const text = lines
      .filter(Boolean)
      .map((line) => JSON.parse(line).log)
      .join('');
    if (text) appendLog(text);
  }
}

export function showDetail(id) {
  view.hidden = false;
  let container;
  let logStream; // AbortController of the running log stream
  let terminal;
  let gone = false;
  // Set once the user leaves this page: a load still in flight (or a settling one) must not write
  // into the view the next container's page now owns.
  let left = false;

  const startLogs = () => {
    logStream?.abort();
    logStream = new AbortController();
    logs.textContent = '';
    followLogs(id, logStream.signal).catch((error) => {
      if (error.name !== 'AbortError') appendLog(`\n[logs unavailable: ${error.message}]\n`);
    });
  };

  const load = async () => {
    try {
      if (left) return;
      const [c, timeline] = await Promise.all([api(containerPath(id)), api(containerPath(id, '/timeline'))]);
      if (left) return;
      const first = container === undefined;
      container = c;
      document.title = `${c.name} · lxr`;
      title.textContent = c.name;
      view.dataset.state = c.state;
      renderFacts(c);
      renderTimeline(timeline);
      renderIde(c, timeline);
      terminalButton.disabled = c.state !== 'running';
      if (first && c.state !== 'requested') startLogs();
    } catch (error) {
      if (left) return;
      if (error instanceof ApiError && error.status === 404) {
        gone = true;
        title.textContent = `${id.slice(0, 12)}: removed`;
        view.dataset.state = 'removed';
      }
      showError(error);
    }
  };

  // Each click opens a fresh shell: after an `exit`, the button starts another.
  const onTerminal = () => {
    if (!container) return;
    terminal?.close();
    terminalBox.replaceChildren();
    terminalCard.hidden = false;
    terminal = openTerminal(terminalBox, container.id, (status) => {
      terminalStatus.textContent = status;
    });
  };
  const onRemove = async () => {
    if (container && (await remove(container))) location.hash = '#/';
  };
  terminalButton.addEventListener('click', onTerminal);
  removeButton.addEventListener('click', onRemove);
  const reload = settling(load, 100);
  load();

  return {
    onEvent(containerId, event) {
      if (left || gone || (containerId !== id && containerId !== container?.id)) return;
      if (event.type === 'ContainerStarted') startLogs();
      reload();
    },
    leave() {
      left = true;
      view.hidden = true;
      // The next container's page starts blank: no stale state for a reader (or a test) to act on.
      delete view.dataset.state;
      terminalButton.disabled = true;
      logStream?.abort();
      terminal?.close();
      terminalCard.hidden = true;
      terminalStatus.textContent = '';
      terminalButton.removeEventListener('click', onTerminal);
      removeButton.removeEventListener('click', onRemove);
      for (const element of [facts, timelineList, logs, ideSlot]) element.replaceChildren();
      title.textContent = '';
    },
  };
}
