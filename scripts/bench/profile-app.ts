/**
 * Profiling driver for the benchmark: does what main.ts does (load config, build the app, synth),
 * timing each phase and recording memory after it. Run with tsx from the project root:
 *   tsx scripts/bench/profile-app.ts <project-root>
 * Writes one JSON object to $BENCH_PHASES_FILE. Not part of the app.
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';

const root = path.resolve(process.argv[2] ?? process.cwd());
const phases: { phase: string; endMs: number; ms: number; rssMb: number; heapUsedMb: number }[] = [];
let last = performance.now();
const mark = (phase: string) => {
  const now = performance.now();
  const mem = process.memoryUsage();
  phases.push({ phase, endMs: Math.round(now), ms: Math.round(now - last), rssMb: Math.round(mem.rss / 1048576), heapUsedMb: Math.round(mem.heapUsed / 1048576) });
  last = now;
};
// performance.now() counts from process start: this is node bootstrap plus tsx's loader setup.
last = 0;
mark('node + tsx startup (until the driver runs)');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { loadConfig } = require(path.join(root, 'config', 'load')) as typeof import('../../config/load');
mark('require config/load (zod, schema)');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildApp } = require(path.join(root, 'app')) as typeof import('../../app');
mark('require app (cdktf, constructs, stacks, modules, provider classes)');
const config = loadConfig(process.env);
mark('loadConfig');
const app = buildApp(config, { outdir: process.env.CDKTF_OUTDIR });
mark('buildApp: construct the stacks (includes bundling the handler with esbuild)');
app.synth();
mark('app.synth(): validate, resolve tokens, write JSON, zip the asset');
if (process.env.BENCH_PHASES_FILE) writeFileSync(process.env.BENCH_PHASES_FILE, JSON.stringify({ phases, maxRssMb: process.resourceUsage().maxRSS / 1024 }));
