import { constants } from 'node:os';
import { parseDocument } from 'yaml';
import { ComposeError, ComposeErrorCode } from '../errors.js';
import {
  type BackoffSpec,
  type ComposeConfig,
  DEFAULT_BACKOFF,
  DEFAULT_READINESS,
  DEFAULT_STOP_GRACE_MS,
  type Dependency,
  type DependencyCondition,
  dependencyEdges,
  type InitStep,
  type ReadinessCheck,
  type ReadinessSpec,
  type RestartPolicy,
  type ServiceSpec,
} from './compose-file.js';
import { parseDuration } from './duration.js';
import { dependencyOrder } from './graph.js';
import { InterpolationError, interpolate, type Variables } from './interpolate.js';

/** Options of {@link loadCompose}. */
export interface LoadComposeOptions {
  /** What `${VAR}` expands to (the environment plus the supervisor's own variables). */
  readonly vars: Variables;
  /** The secrets the supervisor provides, which `init[].secrets` may name. */
  readonly secretNames?: readonly string[];
}

const TOP_KEYS = ['services', 'restart_backoff'];
const SERVICE_KEYS = [
  'command',
  'environment',
  'user',
  'working_dir',
  'depends_on',
  'readiness',
  'init',
  'restart',
  'stop_signal',
  'stop_grace_period',
  'directories',
];
const READINESS_KEYS = ['http', 'tcp', 'command', 'interval', 'start_interval', 'timeout', 'retries'];
const INIT_KEYS = ['command', 'creates', 'user', 'environment', 'stdin', 'secrets'];
const BACKOFF_KEYS = ['initial', 'max', 'reset_after'];
const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESTART_POLICIES: readonly RestartPolicy[] = ['no', 'on-failure', 'always'];

/**
 * Parses, validates and interpolates a compose file. Every problem is collected, then thrown as one
 * {@link ComposeError} (`COMPOSE_INVALID_FILE`, or `COMPOSE_INTERPOLATION` when only variables are
 * missing) whose message lists each one as `<key path>: <what is wrong>`.
 *
 * @example
 * loadCompose(readFileSync(file, 'utf8'), file, { vars: { ...process.env, LXR_HOME: '/var/lib/lxr' } })
 */
export function loadCompose(text: string, file: string, options: LoadComposeOptions): ComposeConfig {
  const doc = parseDocument(text, { merge: true, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ComposeError(
      ComposeErrorCode.InvalidFile,
      `${file}: not valid YAML: ${doc.errors[0]!.message}`,
    );
  }
  const checker = new Checker(options.vars, options.secretNames ?? []);
  const config = checker.compose(doc.toJS({ maxAliasCount: 1000 }), file);
  const variables = [...checker.variableProblems].map(([message, paths]) =>
    paths.length === 1 ? `${paths[0]}: ${message}` : `${message} (at ${paths.join(', ')})`,
  );
  const problems = [...checker.schemaProblems, ...variables];
  if (problems.length > 0 || !config) {
    const code =
      checker.schemaProblems.length > 0 ? ComposeErrorCode.InvalidFile : ComposeErrorCode.Interpolation;
    const list = problems.length === 1 ? ` ${problems[0]}` : `\n  ${problems.join('\n  ')}`;
    throw new ComposeError(code, `${file}: invalid compose file:${list}`);
  }
  return config;
}

type YamlMap = Record<string, unknown>;

function isMap(value: unknown): value is YamlMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function child(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** Walks the parsed YAML, collecting problems instead of stopping at the first. */
class Checker {
  readonly schemaProblems: string[] = [];
  /** Interpolation failures: message → the key paths where it happened. */
  readonly variableProblems = new Map<string, string[]>();

  constructor(
    private readonly vars: Variables,
    private readonly secretNames: readonly string[],
  ) {}

  compose(root: unknown, file: string): ComposeConfig | undefined {
    if (!isMap(root)) {
      this.problem('(top level)', 'must be a map with a `services:` key');
      return undefined;
    }
    this.keys(root, TOP_KEYS, '', (key) => key.startsWith('x-'));
    const backoff = this.backoff(root['restart_backoff'], 'restart_backoff');
    const servicesNode = root['services'];
    if (servicesNode === undefined) this.problem('services', 'is required');
    else if (!isMap(servicesNode)) this.problem('services', 'must be a map of service name to service');
    else if (Object.keys(servicesNode).length === 0)
      this.problem('services', 'must name at least one service');
    const services = new Map<string, ServiceSpec>();
    for (const [name, node] of Object.entries(isMap(servicesNode) ? servicesNode : {})) {
      const spec = this.service(name, node, child('services', name));
      if (spec) services.set(name, spec);
    }
    const ordered = this.order(services);
    if (this.schemaProblems.length > 0 || this.variableProblems.size > 0 || !ordered) return undefined;
    return { file, services: ordered, backoff };
  }

  private order(services: Map<string, ServiceSpec>): ServiceSpec[] | undefined {
    const names = [...services.keys()];
    let complete = true;
    for (const spec of services.values()) {
      for (const { service } of spec.dependsOn.filter((d) => !services.has(d.service))) {
        complete = false;
        this.problem(
          child(child('services', spec.name), 'depends_on'),
          `unknown service "${service}"${this.suggest(service, names)} (services: ${names.join(', ')})`,
        );
      }
    }
    if (!complete) return undefined;
    const ordering = dependencyOrder(dependencyEdges(services.values()));
    if ('cycle' in ordering) {
      this.problem('services', `dependency cycle: ${ordering.cycle.join(' → ')}`);
      return undefined;
    }
    return ordering.order.map((name) => services.get(name)!);
  }

  private service(name: string, node: unknown, path: string): ServiceSpec | undefined {
    if (!SERVICE_NAME.test(name)) {
      this.problem(path, 'a service name may hold only letters, digits, "_", "." and "-"');
    }
    if (!isMap(node)) {
      this.problem(path, 'must be a map (with at least `command:`)');
      return undefined;
    }
    this.keys(node, SERVICE_KEYS, path);
    const command = this.argv(node['command'], child(path, 'command'), true);
    const environment = this.environment(node['environment'], child(path, 'environment'));
    const user = this.optionalText(node['user'], child(path, 'user'));
    const workingDir = this.optionalText(node['working_dir'], child(path, 'working_dir'));
    const restart = this.restart(node['restart'], child(path, 'restart'));
    const stopSignal = this.signal(node['stop_signal'], child(path, 'stop_signal'));
    const stopGracePeriodMs = this.duration(
      node['stop_grace_period'],
      child(path, 'stop_grace_period'),
      DEFAULT_STOP_GRACE_MS,
    );
    const dependsOn = this.dependsOn(node['depends_on'], child(path, 'depends_on'));
    const readiness =
      node['readiness'] === undefined
        ? undefined
        : this.readiness(node['readiness'], child(path, 'readiness'));
    const init = this.listOf(node['init'], child(path, 'init'), (step, at) => this.initStep(step, at));
    const directories = this.listOf(node['directories'], child(path, 'directories'), (dir, at) =>
      this.text(dir, at),
    );
    if (!command) return undefined;
    return {
      name,
      command,
      environment,
      ...(user !== undefined && { user }),
      ...(workingDir !== undefined && { workingDir }),
      dependsOn,
      ...(readiness && { readiness }),
      init,
      restart,
      stopSignal,
      stopGracePeriodMs,
      directories,
    };
  }

  private dependsOn(node: unknown, path: string): Dependency[] {
    if (node === undefined || node === null) return [];
    if (Array.isArray(node)) {
      return this.listOf<Dependency>(node, path, (entry, at) => {
        if (typeof entry === 'string') return { service: entry, condition: 'service_ready' };
        this.problem(at, 'must be a service name');
        return undefined;
      });
    }
    if (!isMap(node)) {
      this.problem(path, 'must be a list of service names or a map of service name to `{condition: …}`');
      return [];
    }
    return Object.entries(node).map(([service, options]) => ({
      service,
      condition: this.condition(options, child(path, service)),
    }));
  }

  /** One `depends_on.<service>` of the map form; `service_ready` when left out (or wrong). */
  private condition(node: unknown, path: string): DependencyCondition {
    if (node === null) return 'service_ready';
    if (!isMap(node)) {
      this.problem(path, 'must be a map with `condition: service_ready` or `condition: service_started`');
      return 'service_ready';
    }
    this.keys(node, ['condition'], path);
    const condition = node['condition'] ?? 'service_ready';
    if (condition === 'service_ready' || condition === 'service_started') return condition;
    this.problem(child(path, 'condition'), 'must be `service_ready` or `service_started`');
    return 'service_ready';
  }

  private readiness(node: unknown, path: string): ReadinessSpec | undefined {
    if (!isMap(node)) {
      this.problem(path, 'must be a map with one of `http:`, `tcp:` or `command:`');
      return undefined;
    }
    this.keys(node, READINESS_KEYS, path);
    const kinds = ['http', 'tcp', 'command'].filter((k) => node[k] !== undefined);
    if (kinds.length !== 1) {
      this.problem(path, `needs exactly one of \`http:\`, \`tcp:\` or \`command:\` (found ${kinds.length})`);
      return undefined;
    }
    const check = this.check(kinds[0]!, node[kinds[0]!], child(path, kinds[0]!));
    const intervalMs = this.duration(node['interval'], child(path, 'interval'), DEFAULT_READINESS.intervalMs);
    const startIntervalMs = this.duration(
      node['start_interval'],
      child(path, 'start_interval'),
      Math.min(DEFAULT_READINESS.startIntervalMs, intervalMs),
    );
    const timeoutMs = this.duration(node['timeout'], child(path, 'timeout'), DEFAULT_READINESS.timeoutMs);
    const retries = this.integer(node['retries'], child(path, 'retries'), DEFAULT_READINESS.retries, 1);
    return check && { check, intervalMs, startIntervalMs, timeoutMs, retries };
  }

  private check(kind: string, node: unknown, path: string): ReadinessCheck | undefined {
    if (kind === 'command') {
      const argv = this.argv(node, path, true);
      return argv && { kind: 'command', argv };
    }
    const value = this.text(node, path);
    if (value === undefined) return undefined;
    if (kind === 'http') {
      const protocol = URL.canParse(value) ? new URL(value).protocol : undefined;
      if (protocol !== 'http:' && protocol !== 'https:') {
        this.problem(path, `"${value}" is not an http(s) URL`);
        return undefined;
      }
      return { kind: 'http', url: value };
    }
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
    const port = Number(m?.[3]);
    if (!m || port < 1 || port > 65535) {
      this.problem(path, `"${value}" is not host:port`);
      return undefined;
    }
    return { kind: 'tcp', host: (m[1] ?? m[2])!, port };
  }

  private initStep(node: unknown, path: string): InitStep | undefined {
    if (!isMap(node)) {
      this.problem(path, 'must be a map with `command:`');
      return undefined;
    }
    this.keys(node, INIT_KEYS, path);
    const command = this.argv(node['command'], child(path, 'command'), true);
    const creates = this.optionalText(node['creates'], child(path, 'creates'));
    const user = this.optionalText(node['user'], child(path, 'user'));
    const stdin = this.optionalText(node['stdin'], child(path, 'stdin'));
    const environment = this.environment(node['environment'], child(path, 'environment'));
    const secrets = this.listOf(node['secrets'], child(path, 'secrets'), (s, at) => {
      if (typeof s === 'string' && this.secretNames.includes(s)) return s;
      this.problem(
        at,
        `unknown secret ${JSON.stringify(s)} (secrets: ${this.secretNames.join(', ') || 'none'})`,
      );
      return undefined;
    });
    if (!command) return undefined;
    return {
      label: path,
      command,
      ...(creates !== undefined && { creates }),
      ...(user !== undefined && { user }),
      ...(stdin !== undefined && { stdin }),
      environment,
      secrets,
    };
  }

  private backoff(node: unknown, path: string): BackoffSpec {
    if (node === undefined) return DEFAULT_BACKOFF;
    if (!isMap(node)) {
      this.problem(path, 'must be a map with `initial`, `max` and `reset_after` durations');
      return DEFAULT_BACKOFF;
    }
    this.keys(node, BACKOFF_KEYS, path);
    const initialMs = this.duration(node['initial'], child(path, 'initial'), DEFAULT_BACKOFF.initialMs);
    const maxMs = this.duration(node['max'], child(path, 'max'), Math.max(initialMs, DEFAULT_BACKOFF.maxMs));
    const resetAfterMs = this.duration(
      node['reset_after'],
      child(path, 'reset_after'),
      DEFAULT_BACKOFF.resetAfterMs,
    );
    if (maxMs < initialMs) this.problem(child(path, 'max'), 'must not be shorter than `initial`');
    return { initialMs, maxMs, resetAfterMs };
  }

  private environment(node: unknown, path: string): Record<string, string> {
    const env: Record<string, string> = {};
    if (node === undefined || node === null) return env;
    const set = (name: string, value: unknown, at: string) => {
      if (!ENV_NAME.test(name)) {
        this.problem(at, `"${name}" is not a valid environment variable name`);
        return;
      }
      if (value === null) {
        // `NAME:` (or `- NAME`) passes the supervisor's own value through, when it has one.
        const inherited = this.vars[name];
        if (inherited !== undefined) env[name] = inherited;
        return;
      }
      const text = this.text(value, at);
      if (text !== undefined) env[name] = text;
    };
    if (Array.isArray(node)) {
      node.forEach((entry, i) => {
        if (typeof entry !== 'string') {
          this.problem(child(path, i), 'must be NAME=value or NAME');
          return;
        }
        const eq = entry.indexOf('=');
        set(eq < 0 ? entry : entry.slice(0, eq), eq < 0 ? null : entry.slice(eq + 1), child(path, i));
      });
    } else if (isMap(node)) {
      for (const [name, value] of Object.entries(node)) set(name, value, child(path, name));
    } else {
      this.problem(path, 'must be a map of NAME: value (or a list of NAME=value)');
    }
    return env;
  }

  private restart(node: unknown, path: string): RestartPolicy {
    if (node === undefined) return 'on-failure';
    if (node === false) return 'no';
    if (typeof node === 'string' && (RESTART_POLICIES as readonly string[]).includes(node)) {
      return node as RestartPolicy;
    }
    this.problem(path, `must be one of ${RESTART_POLICIES.join(', ')}`);
    return 'on-failure';
  }

  private signal(node: unknown, path: string): NodeJS.Signals {
    if (node === undefined) return 'SIGTERM';
    const text = typeof node === 'string' ? node.toUpperCase() : '';
    const name = text.startsWith('SIG') ? text : `SIG${text}`;
    if (!text || !(name in constants.signals)) {
      this.problem(path, `${JSON.stringify(node)} is not a signal name (e.g. SIGTERM, SIGINT)`);
      return 'SIGTERM';
    }
    return name as NodeJS.Signals;
  }

  /** The items of a list that `item` could read; `item` reports what is wrong with the others. */
  private listOf<T>(node: unknown, path: string, item: (value: unknown, at: string) => T | undefined): T[] {
    if (node === undefined || node === null) return [];
    if (!Array.isArray(node)) {
      this.problem(path, 'must be a list');
      return [];
    }
    return node.flatMap((value, i) => {
      const read = item(value, child(path, i));
      return read === undefined ? [] : [read];
    });
  }

  private argv(node: unknown, path: string, required: boolean): string[] | undefined {
    if (node === undefined) {
      if (required) this.problem(path, 'is required (a list of arguments, e.g. [nats-server, -js])');
      return undefined;
    }
    if (!Array.isArray(node) || node.length === 0) {
      this.problem(path, 'must be a non-empty list of arguments (argv), e.g. [nats-server, -js]');
      return undefined;
    }
    const argv = node.map((arg, i) => this.text(arg, child(path, i)));
    return argv.every((a) => a !== undefined) ? (argv as string[]) : undefined;
  }

  private optionalText(node: unknown, path: string): string | undefined {
    return node === undefined || node === null ? undefined : this.text(node, path);
  }

  private text(node: unknown, path: string): string | undefined {
    if (typeof node !== 'string' && typeof node !== 'number' && typeof node !== 'boolean') {
      this.problem(path, 'must be a string');
      return undefined;
    }
    try {
      return interpolate(String(node), this.vars);
    } catch (error) {
      if (!(error instanceof InterpolationError)) throw error;
      const paths = this.variableProblems.get(error.message) ?? [];
      this.variableProblems.set(error.message, [...paths, path]);
      return undefined;
    }
  }

  private duration(node: unknown, path: string, fallback: number): number {
    const wrong = (value: string | number) => `"${value}" is not a duration (e.g. 500ms, 10s, 1m30s)`;
    return this.number(node, path, fallback, parseDuration, wrong);
  }

  private integer(node: unknown, path: string, fallback: number, min: number): number {
    const parse = (value: string | number) => {
      const n = Number(value);
      return Number.isInteger(n) && n >= min ? n : undefined;
    };
    return this.number(node, path, fallback, parse, () => `must be an integer ≥ ${min}`);
  }

  /** A YAML number or an (interpolated) string, read by `parse`; `fallback` when absent or wrong. */
  private number(
    node: unknown,
    path: string,
    fallback: number,
    parse: (value: string | number) => number | undefined,
    wrong: (value: string | number) => string,
  ): number {
    if (node === undefined) return fallback;
    const value = typeof node === 'number' ? node : this.text(node, path);
    if (value === undefined) return fallback;
    const parsed = parse(value);
    if (parsed === undefined) this.problem(path, wrong(value));
    return parsed ?? fallback;
  }

  private keys(
    node: YamlMap,
    allowed: readonly string[],
    path: string,
    extra?: (key: string) => boolean,
  ): void {
    for (const key of Object.keys(node)) {
      if (allowed.includes(key) || extra?.(key)) continue;
      this.problem(
        child(path, key),
        `unknown key${this.suggest(key, allowed)} (allowed: ${allowed.join(', ')})`,
      );
    }
  }

  private suggest(word: string, candidates: readonly string[]): string {
    const best = candidates
      .map((c) => ({ c, d: distance(word, c) }))
      .filter(({ d }) => d <= Math.max(1, Math.floor(word.length / 3)))
      .sort((a, b) => a.d - b.d)[0];
    return best ? ` (did you mean "${best.c}"?)` : '';
  }

  private problem(path: string, message: string): void {
    this.schemaProblems.push(`${path}: ${message}`);
  }
}
