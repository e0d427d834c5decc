#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { runCli } from './cli.js';
import { processContext } from './context.js';

// The one place the CLI touches the process: argv, signals, the exit code.
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
const abort = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    // A second Ctrl-C (or anything that does not end on the abort) falls back to the default: exit.
    if (abort.signal.aborted) process.exit(130);
    abort.abort();
  });
}
process.exitCode = await runCli(process.argv.slice(2), processContext({ version, signal: abort.signal }));
