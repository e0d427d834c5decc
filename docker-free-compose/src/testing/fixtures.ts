// Test support (not exported by the package): a tiny scriptable service and helpers to run compose
// files in throwaway LXR_HOMEs.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { composeDown } from '../client/compose-api.js';
import { processAlive } from '../runtime/process-group.js';

/**
 * A service for tests, driven by its environment: appends `<ms> <NAME> <event>` lines to $EVENTS
 * (start, listening, stop), serves 200 on http://127.0.0.1:$PORT/readyz after $READY_DELAY ms, exits 1
 * after 100 ms (without serving) for its first $CRASH_TIMES starts, with $GRANDCHILD forks a child that ignores SIGTERM and
 * writes its pid to $GRANDCHILD, and with $IGNORE_TERM ignores SIGTERM itself.
 */
export const SERVICE_SCRIPT = `
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { spawn } from 'node:child_process';
const env = process.env;
const event = (what) => appendFileSync(env.EVENTS, Date.now() + ' ' + env.NAME + ' ' + what + '\\n');
event('start');
console.log('hello from ' + env.NAME);
let crashing = false;
if (env.CRASH_TIMES) {
  const counter = env.EVENTS + '.' + env.NAME + '.count';
  const n = existsSync(counter) ? Number(readFileSync(counter, 'utf8')) : 0;
  writeFileSync(counter, String(n + 1));
  crashing = n < Number(env.CRASH_TIMES);
  if (crashing) setTimeout(() => { console.error(env.NAME + ' crashes'); process.exit(1); }, 100);
}
if (env.GRANDCHILD) {
  const child = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  writeFileSync(env.GRANDCHILD, String(child.pid));
}
if (env.IGNORE_TERM) process.on('SIGTERM', () => event('ignores-term'));
else process.on('SIGTERM', () => { event('stop'); process.exit(0); });
if (env.PORT && !crashing) {
  setTimeout(() => {
    http.createServer((req, res) => { res.writeHead(req.url === '/readyz' ? 200 : 404); res.end(); })
      .listen(Number(env.PORT), '127.0.0.1', () => event('listening'));
  }, Number(env.READY_DELAY ?? 0));
}
setInterval(() => {}, 1000);
`;

/** A temp directory, world-traversable (as LXR_HOME must be for services running as other users). */
export async function tempHome(prefix = 'lxr-compose-'): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  await chmod(dir, 0o755);
  return dir;
}

/** Stops whatever a test left running in `home` and deletes it: for `t.after`, never throws. */
export async function cleanup(home: string): Promise<void> {
  await composeDown({ lxrHome: home, timeoutMs: 30_000 }).catch(() => undefined);
  await rm(home, { recursive: true, force: true });
}

/** Parsed `<ms> <name> <event>` lines of an events file. */
export async function readEvents(file: string): Promise<{ at: number; name: string; event: string }[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [at, name, event] = line.split(' ');
      return { at: Number(at), name: name!, event: event! };
    });
}

/** The pids among `pids` that still exist. */
export function survivors(pids: readonly number[]): number[] {
  return pids.filter((pid) => processAlive(pid));
}

/** Writes `text` to `file` and returns the path. */
export async function writeText(file: string, text: string): Promise<string> {
  await writeFile(file, text);
  return file;
}
