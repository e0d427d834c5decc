// #/ — the containers table, kept current from the event stream, and the create form.
import { api, containerPath } from './api.js';
import { h, settling, showError } from './dom.js';
import { ago } from './format.js';

const view = document.getElementById('list-view');
const rows = document.getElementById('containers');
const empty = document.getElementById('empty');
const form = document.getElementById('create');

function row(c) {
  return h(
    'tr',
    { 'data-name': c.name, 'data-state': c.state },
    h('td', {}, h('a', { href: `#/c/${encodeURIComponent(c.id)}` }, c.name)),
    h('td', {}, h('span', { class: `state state-${c.state}` }, c.state)),
    h('td', { class: 'mono' }, c.image),
    h('td', { class: 'mono' }, c.ip ?? ''),
    h('td', {}, c.node),
    h('td', {}, h('time', { datetime: c.createdAt, title: c.createdAt }, ago(c.createdAt))),
    h(
      'td',
      { class: 'row-actions' },
      h(
        'button',
        { type: 'button', class: 'danger small', 'aria-label': `Remove ${c.name}`, onclick: () => remove(c) },
        'Remove',
      ),
    ),
  );
}

async function load() {
  try {
    const containers = await api('/containers?all=true');
    rows.replaceChildren(...containers.map(row));
    empty.hidden = containers.length > 0;
  } catch (error) {
    showError(error);
  }
}

export async function remove(c) {
  if (!confirm(`Remove ${c.name}? A running container is stopped first.`)) return false;
  try {
    await api(`${containerPath(c.id)}?force=true`, { method: 'DELETE' });
    return true;
  } catch (error) {
    showError(error);
    return false;
  }
}

async function create(submit) {
  submit.preventDefault();
  const data = new FormData(form);
  // As `docker create -it`: a terminal and open stdin keep an image whose command is a shell (most
  // are) running, waiting for someone to attach, instead of exiting at once.
  const body = {
    image: String(data.get('image')).trim(),
    ide: data.get('ide') === 'on',
    tty: true,
    openStdin: true,
  };
  const name = String(data.get('name') ?? '').trim();
  if (name) body.name = name;
  const command = String(data.get('command') ?? '').trim();
  if (command) body.command = command.split(/\s+/);
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    const created = await api('/containers', { method: 'POST', body });
    form.reset();
    showError(undefined);
    location.hash = `#/c/${encodeURIComponent(created.id)}`;
  } catch (error) {
    showError(error);
  } finally {
    button.disabled = false;
  }
}

form.addEventListener('submit', create);

export function showList() {
  view.hidden = false;
  document.title = 'Containers · lxr';
  const reload = settling(load, 100);
  load();
  return {
    onEvent: reload,
    leave() {
      view.hidden = true;
    },
  };
}
