// DOM helpers shared by the views: elements built without parsing HTML, and the error line.

/** An element with attributes and children (strings become text nodes: nothing is parsed as HTML). */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false || value === null) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children.flat().filter((c) => c !== undefined && c !== null && c !== false));
  return element;
}

const errorBox = document.getElementById('error');

/** Shows what failed (an ApiError's message names it and what to do); `undefined` clears it. */
export function showError(error) {
  errorBox.textContent = error ? String(error.message ?? error) : '';
  errorBox.hidden = !error;
}

/** Coalesces bursts of calls (a creation is half a dozen events) into one, `ms` after the last. */
/**
 * `debounced(fn, ms)` that also runs `fn` once more `settleMs` after the last call: the event stream
 * can run ahead of the gateway's read model (both follow the log, each at its own pace), so a view
 * reloaded on an event looks again a little later and settles on the state the event led to.
 */
export function settling(fn, ms, settleMs = 1000) {
  const soon = debounced(fn, ms);
  const later = debounced(fn, settleMs);
  return () => {
    soon();
    later();
  };
}

export function debounced(fn, ms) {
  let timer;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}
