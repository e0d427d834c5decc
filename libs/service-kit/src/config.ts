import { ConfigError, type ConfigIssue } from './errors.js';

/** One environment variable: its name and how to turn its text into a value. */
export interface ConfigField<T> {
  /** The environment variable, e.g. `LXR_NATS_URL`. */
  readonly variable: string;
  /** What it is for; shown when it is missing. */
  readonly description: string | undefined;
  /** Never echo the value in errors (URLs with passwords, tokens). */
  readonly secret: boolean;
  /** The value, or the problem with it. `raw` is undefined when the variable is unset or empty. */
  parse(
    raw: string | undefined,
  ): { readonly ok: true; readonly value: T } | { readonly ok: false; readonly problem: string };
}

/** Options every field takes. */
export interface FieldOptions<T> {
  readonly description?: string;
  /** Used when the variable is unset or empty; the field is then never missing. */
  readonly default?: T;
  /** Without a default: unset is fine and gives `undefined`. */
  readonly optional?: boolean;
  /** Hide the value in error messages. */
  readonly secret?: boolean;
}

/** The type a field yields given its options: `T`, or `T | undefined` when optional without default. */
export type FieldValue<T, O> = O extends { readonly default: unknown }
  ? T
  : O extends { readonly optional: true }
    ? T | undefined
    : T;

/** A map from config keys to fields: what {@link loadConfig} reads. */
export type ConfigSpec = Readonly<Record<string, ConfigField<unknown>>>;
/** The typed configuration a spec yields. */
export type ConfigOf<S extends ConfigSpec> = {
  readonly [K in keyof S]: S[K] extends ConfigField<infer T> ? T : never;
};

type Converted<T> = { readonly value: T } | { readonly problem: string };

function fieldOf<T, O extends FieldOptions<T>>(
  variable: string,
  options: O | undefined,
  convert: (raw: string) => Converted<T>,
): ConfigField<FieldValue<T, O>> {
  const secret = options?.secret ?? false;
  return {
    variable,
    description: options?.description,
    secret,
    parse(raw) {
      if (raw === undefined || raw === '') {
        if (options?.default !== undefined) return { ok: true, value: options.default as FieldValue<T, O> };
        if (options?.optional) return { ok: true, value: undefined as FieldValue<T, O> };
        const what = options?.description ? ` (${options.description})` : '';
        return { ok: false, problem: `is required but not set${what}` };
      }
      const converted = convert(raw);
      if ('problem' in converted) {
        return {
          ok: false,
          problem: `${secret ? '(value hidden)' : JSON.stringify(raw)} ${converted.problem}`,
        };
      }
      return { ok: true, value: converted.value as FieldValue<T, O> };
    },
  };
}

const INTEGER = /^[+-]?\d+$/;

function toInteger(raw: string, min: number, max: number, what: string): Converted<number> {
  const text = raw.trim();
  const value = Number(text);
  if (!INTEGER.test(text) || !Number.isSafeInteger(value) || value < min || value > max) {
    return { problem: `is not ${what}` };
  }
  return { value };
}

function toUrl(raw: string, protocols: readonly string[] | undefined): Converted<string> {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    return { problem: 'is not a URL' };
  }
  if (protocols && !protocols.includes(url.protocol)) {
    return { problem: `is not a ${protocols.map((p) => p.replace(/:$/, '')).join('/')} URL` };
  }
  return { value: raw.trim() };
}

/**
 * Builders of {@link ConfigField}s, one per kind of value.
 *
 * @example
 * const spec = {
 *   port: field.port('LXR_API_PORT', { default: 8080 }),
 *   token: field.string('LXR_API_TOKEN', { secret: true }),          // required
 *   registry: field.url('LXR_REGISTRY_URL', { optional: true }),      // string | undefined
 *   mode: field.oneOf('LXR_MODE', ['dev', 'prod'] as const, { default: 'dev' }),
 * };
 * const config = loadConfig(spec, process.env); // { port: number; token: string; … }
 */
export const field = {
  /** Any non-empty text; `pattern` restricts it. */
  string<O extends FieldOptions<string> & { readonly pattern?: RegExp; readonly patternHint?: string }>(
    variable: string,
    options?: O,
  ) {
    return fieldOf<string, O>(variable, options, (raw) =>
      options?.pattern && !options.pattern.test(raw)
        ? { problem: `is not ${options.patternHint ?? `matching ${options.pattern}`}` }
        : { value: raw },
    );
  },
  /** A whole number, optionally within `[min, max]`. */
  integer<O extends FieldOptions<number> & { readonly min?: number; readonly max?: number }>(
    variable: string,
    options?: O,
  ) {
    const min = options?.min ?? Number.MIN_SAFE_INTEGER;
    const max = options?.max ?? Number.MAX_SAFE_INTEGER;
    const what =
      options?.min !== undefined || options?.max !== undefined
        ? `an integer in [${min}, ${max}]`
        : 'an integer';
    return fieldOf<number, O>(variable, options, (raw) => toInteger(raw, min, max, what));
  },
  /** A TCP port, 0–65535 (0 usually means "off" or "any"). */
  port<O extends FieldOptions<number>>(variable: string, options?: O) {
    return fieldOf<number, O>(variable, options, (raw) =>
      toInteger(raw, 0, 65_535, 'a port number (0-65535)'),
    );
  },
  /** An absolute URL, optionally of given protocols (`['nats:', 'tls:']`). */
  url<O extends FieldOptions<string> & { readonly protocols?: readonly string[] }>(
    variable: string,
    options?: O,
  ) {
    return fieldOf<string, O>(variable, options, (raw) => toUrl(raw, options?.protocols));
  },
  /** A comma-separated list of URLs, e.g. the servers of a NATS cluster. */
  urls<O extends FieldOptions<readonly string[]> & { readonly protocols?: readonly string[] }>(
    variable: string,
    options?: O,
  ) {
    return fieldOf<readonly string[], O>(variable, options, (raw) => {
      const parts = raw.split(',').map((part) => part.trim());
      const urls: string[] = [];
      for (const part of parts) {
        const converted = toUrl(part, options?.protocols);
        if ('problem' in converted)
          return {
            problem: `is not a comma-separated list of URLs (${JSON.stringify(part)} ${converted.problem})`,
          };
        urls.push(converted.value);
      }
      return { value: urls };
    });
  },
  /** One of a fixed set of words. */
  oneOf<const V extends string, O extends FieldOptions<V> = FieldOptions<V>>(
    variable: string,
    values: readonly V[],
    options?: O,
  ) {
    return fieldOf<V, O>(variable, options, (raw) =>
      (values as readonly string[]).includes(raw)
        ? { value: raw as V }
        : { problem: `is not one of ${values.join(', ')}` },
    );
  },
  /** `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`). */
  boolean<O extends FieldOptions<boolean>>(variable: string, options?: O) {
    return fieldOf<boolean, O>(variable, options, (raw) => {
      const text = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(text)) return { value: true };
      if (['false', '0', 'no', 'off'].includes(text)) return { value: false };
      return { problem: 'is not a boolean (true/false)' };
    });
  },
};

/**
 * Reads a typed configuration from environment variables. Every field is checked before
 * anything fails, so the one {@link ConfigError} it throws names every bad variable.
 * Empty variables count as unset.
 *
 * @example
 * const config = loadConfig({ ...commonConfigSpec, port: field.port('LXR_API_PORT', { default: 8080 }) });
 */
export function loadConfig<S extends ConfigSpec>(spec: S, env: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const issues: ConfigIssue[] = [];
  const config: Record<string, unknown> = {};
  for (const [key, f] of Object.entries(spec)) {
    const result = f.parse(env[f.variable]);
    if (result.ok) config[key] = result.value;
    else issues.push({ variable: f.variable, problem: result.problem });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return config as ConfigOf<S>;
}
