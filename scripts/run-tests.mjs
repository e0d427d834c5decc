#!/usr/bin/env node
// Runs every compiled test file (`dist/**/*.test.js`) of every workspace with node's test runner.
// `--unit` runs only tests that need no external process (files not ending in `.it.test.js`).
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const unitOnly = process.argv.includes('--unit');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const workspaces = ['libs', 'services'].flatMap((d) =>
  readdirSync(path.join(root, d)).map((w) => path.join(root, d, w)),
);
workspaces.push(path.join(root, 'docker-free-compose'), path.join(root, 'test'));

function find(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return find(full);
    return entry.name.endsWith('.test.js') ? [full] : [];
  });
}

const files = workspaces
  .flatMap((w) => find(path.join(w, 'dist')))
  .filter((f) => !unitOnly || !f.endsWith('.it.test.js'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
if (files.length === 0) {
  console.error('no test files found: run `npm run build` first');
  process.exit(1);
}
const child = spawn(process.execPath, ['--test', '--test-concurrency=2', ...files], { stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
