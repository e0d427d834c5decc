/**
 * `npm run bench [-- <section id>…]`: runs the benchmark sections (all by default) against real
 * servers and prints one markdown table per section.
 */
import { type BenchSection, markdownTable } from './bench.js';
import { eventStoreBench } from './event-store.bench.js';
import { executorBench } from './executor.bench.js';
import { ideBench } from './ide.js';
import { imagePullerBench } from './image-puller.bench.js';
import { networkBench } from './network.bench.js';
import { rootfsBench } from './rootfs.bench.js';
import { runtimeBench } from './runtime.bench.js';
import { unpackBench } from './unpack.js';
import { volumesBench } from './volumes.bench.js';

const sections: readonly BenchSection[] = [
  eventStoreBench,
  imagePullerBench,
  networkBench,
  runtimeBench,
  executorBench,
  rootfsBench,
  unpackBench,
  volumesBench,
  ideBench,
];

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const selected = sections.filter((s) => wanted.length === 0 || wanted.includes(s.id));
if (selected.length === 0) {
  console.error(
    `no benchmark section named ${wanted.join(', ')}; known: ${sections.map((s) => s.id).join(', ')}`,
  );
  process.exit(2);
}

const log = (line: string) => console.error(`  … ${line}`);
let failed = false;
for (const section of selected) {
  console.error(`running ${section.id}`);
  const started = Date.now();
  try {
    const rows = await section.run(log);
    console.log(`## ${section.title}\n\n${section.setup}\n\n${markdownTable(rows)}\n`);
    console.error(`${section.id} took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    failed = true;
    console.error(`${section.id} failed:`, error);
  }
}
process.exit(failed ? 1 : 0);
