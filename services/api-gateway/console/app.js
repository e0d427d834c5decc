// The console's entry: the hash router (#/ the containers, #/c/<id> one container) and the one
// event stream every view refreshes from.
import { showDetail } from './detail.js';
import { showError } from './dom.js';
import { showList } from './list.js';

/** The events that change what a view shows. */
const EVENT_TYPES = [
  'ContainerRequested',
  'ContainerRemoved',
  'ImagePulled',
  'ImagePullFailed',
  'RootfsPrepared',
  'RootfsFailed',
  'NetworkReady',
  'NetworkFailed',
  'NetworkReleased',
  'ContainerStarted',
  'ContainerExited',
  'ContainerFailed',
  'IdeStarting',
  'IdeReady',
  'IdeFailed',
  'IdeExited',
];

let current; // the view on screen: { onEvent(containerId), leave() }

function route() {
  current?.leave();
  showError(undefined);
  const match = /^#\/c\/([^/]+)$/.exec(location.hash);
  current = match ? showDetail(decodeURIComponent(match[1])) : showList();
}

function listen() {
  const live = document.getElementById('live');
  // Only what happens from now on: each view loads its state itself, after the stream is open.
  const source = new EventSource(`/v1/events?live=true&type=${EVENT_TYPES.join(',')}`);
  source.addEventListener('open', () => {
    live.textContent = 'live';
    live.dataset.state = 'live';
  });
  source.addEventListener('error', () => {
    live.textContent = 'reconnecting…';
    live.dataset.state = 'down';
  });
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (message) => {
      const event = JSON.parse(message.data);
      current?.onEvent(event.data?.containerId ?? event.metadata.correlationId, event);
    });
  }
}

listen();
window.addEventListener('hashchange', route);
route();
