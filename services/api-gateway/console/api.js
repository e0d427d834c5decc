// The console's one way to call the API: same-origin fetches authenticated by the session cookie.

/** An API error: the problem's `detail` (what failed and what to do) as its message. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `the API answered ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem?.code;
  }
}

/** Back to the login form, coming back here afterwards. */
export function toLogin() {
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.hash)}`);
}

/** `fetch` under /v1 returning the parsed JSON body, throwing {@link ApiError} on a problem. */
export async function api(path, { method = 'GET', body } = {}) {
  const response = await fetch(`/v1${path}`, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    toLogin();
    throw new ApiError(401, { detail: 'the session has ended; log in again' });
  }
  const text = await response.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

/** `/v1/containers/<ref><suffix>` with the reference escaped. */
export const containerPath = (ref, suffix = '') => `/containers/${encodeURIComponent(ref)}${suffix}`;
