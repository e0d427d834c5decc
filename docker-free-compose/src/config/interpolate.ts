/** The variables `${…}` can refer to; `undefined` means unset. */
export type Variables = Readonly<Record<string, string | undefined>>;

/** A `${…}` that cannot be expanded: an unset variable, a `${VAR:?message}`, or bad syntax. */
export class InterpolationError extends Error {
  override readonly name = 'InterpolationError';
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * Expands variables in one string, with docker compose's syntax:
 * `${VAR}` (an error when unset), `${VAR:-default}` (default when unset or empty), `${VAR-default}`
 * (default when unset), `${VAR:?message}` / `${VAR?message}` (an error with that message), and `$$` for a
 * literal `$`. Defaults may themselves contain `${…}`; they are only expanded when used. A `$` not
 * followed by `{` or `$` is kept as is, so shell snippets such as `$HOME` pass through.
 *
 * @example interpolate('127.0.0.1:${PORT:-7422}', {}) === '127.0.0.1:7422'
 */
export function interpolate(text: string, vars: Variables): string {
  return expand(text, 0, vars, false, true).out;
}

function expand(
  text: string,
  start: number,
  vars: Variables,
  inBraces: boolean,
  evaluate: boolean,
): { out: string; end: number } {
  let out = '';
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (inBraces && c === '}') return { out, end: i };
    if (c !== '$' || (text[i + 1] !== '$' && text[i + 1] !== '{')) {
      out += c;
      i += 1;
      continue;
    }
    if (text[i + 1] === '$') {
      out += '$';
      i += 2;
      continue;
    }
    const name = NAME.exec(text.slice(i + 2))?.[0];
    if (!name) throw new InterpolationError(`invalid variable reference "${text.slice(i, i + 16)}"`);
    let j = i + 2 + name.length;
    const value = vars[name];
    if (text[j] === '}') {
      if (value === undefined && evaluate) throw new InterpolationError(`variable ${name} is not set`);
      out += value ?? '';
      i = j + 1;
      continue;
    }
    const op = [':-', ':?', '-', '?'].find((o) => text.startsWith(o, j));
    if (!op) throw new InterpolationError(`invalid variable reference "${text.slice(i, j + 1)}"`);
    j += op.length;
    const missing = op.startsWith(':') ? value === undefined || value === '' : value === undefined;
    const word = expand(text, j, vars, true, evaluate && missing);
    if (word.end >= text.length) throw new InterpolationError(`unterminated "\${${name}${op}"`);
    if (!missing) out += value;
    else if (op.endsWith('-')) out += word.out;
    else if (evaluate) throw new InterpolationError(word.out || `variable ${name} is not set`);
    i = word.end + 1;
  }
  if (inBraces) return { out, end: text.length };
  return { out, end: i };
}
