/**
 * Where the app's synth time and memory go, for when synth misses its targets: phase timings and
 * module-load costs from a probed run, a V8 CPU profile of the node process running main.ts, the
 * isolated cost of each dependency in a fresh node, and the start-up floor of each way to run TS.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { LOAD_PROBE, measure, processRunning, withRequire } from './measure';
import { summarizeCpuProfile } from './cpu-profile';
import { median, round } from './stats';

export interface ProfileOptions {
  readonly root: string;
  readonly tmp: string;
  /** Env for running the app the way cdktf does, writing to `outdir`. */
  readonly appEnv: (outdir: string) => NodeJS.ProcessEnv;
  /** Deep provider modules the app imports (`@cdktf/provider-aws/lib/<x>`). */
  readonly providerModules: string[];
  readonly repeats: number;
  readonly log: (msg: string) => void;
}

interface LoadProbeLine {
  argv: string[];
  totalMs: number;
  loads: number;
  groups: Record<string, { selfMs: number; count: number }>;
  esbuild: { buildSyncMs: number; buildSyncCalls: number };
  childProcesses: { fn: string; command: string; ms: number }[];
  maxRssMb: number;
}

const r1 = (v: number) => round(v, 1);

export async function runProfile(o: ProfileOptions): Promise<Record<string, unknown>> {
  const tsx = path.join(o.root, 'node_modules', '.bin', 'tsx');
  const dir = path.join(o.tmp, 'profile');
  mkdirSync(dir, { recursive: true });

  // 1. Phases of main.ts (re-enacted by profile-app.ts) with every module load and esbuild call timed.
  o.log('profile: phases and module loads');
  const probeFile = path.join(dir, 'load-probe.jsonl');
  const phasesFile = path.join(dir, 'phases.json');
  const env1 = o.appEnv(path.join(dir, 'out-phases'));
  await measure([tsx, path.join(__dirname, 'profile-app.ts'), o.root], {
    cwd: o.root,
    env: { ...env1, NODE_OPTIONS: withRequire(env1.NODE_OPTIONS, LOAD_PROBE), BENCH_LOAD_PROBE_FILE: probeFile, BENCH_PHASES_FILE: phasesFile, BENCH_PROJECT_ROOT: o.root },
  });
  const lines = readFileSync(probeFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as LoadProbeLine);
  const main = lines.find((l) => l.argv[1]?.endsWith('profile-app.ts') && !l.argv[1].includes('node_modules'));
  const zipChild = lines.find((l) => l.argv[1]?.endsWith(path.join('cdktf', 'lib', 'private', 'fs.js')));
  const phases = JSON.parse(readFileSync(phasesFile, 'utf8')) as { phases: unknown[]; maxRssMb: number };
  const moduleLoads = main && {
    modules_loaded: main.loads,
    self_ms_by_package: Object.entries(main.groups).slice(0, 12).map(([group, g]) => ({ group, self_ms: r1(g.selfMs), modules: g.count })),
    total_load_self_ms: r1(Object.values(main.groups).reduce((a, g) => a + g.selfMs, 0)),
    esbuild_buildSync_ms: r1(main.esbuild.buildSyncMs),
    esbuild_buildSync_calls: main.esbuild.buildSyncCalls,
    sync_child_processes: main.childProcesses.map((c) => ({ command: c.command.replace(o.root, '.'), ms: r1(c.ms) })),
    cdktf_zip_child: zipChild && { total_ms: r1(zipChild.totalMs), max_rss_mb: r1(zipChild.maxRssMb) },
  };

  // 2. A CPU profile of the node process that runs main.ts. --cpu-prof is not allowed in NODE_OPTIONS, so
  // this run is one plain node with tsx's CommonJS hooks (what tsx's child process does for main.ts).
  o.log('profile: cpu profile of main.ts');
  const profDir = path.join(dir, 'cpuprof');
  const run2 = await measure([process.execPath, '--cpu-prof', `--cpu-prof-dir=${profDir}`, '--require', 'tsx/cjs', 'main.ts'], {
    cwd: o.root, probe: true, env: o.appEnv(path.join(dir, 'out-cpuprof')),
  });
  const mainProc = processRunning(run2.processes, path.join(o.root, 'main.ts'));
  const profFile = mainProc && existsSync(profDir) && readdirSync(profDir).find((f) => f.includes(`.${mainProc.pid}.`) && f.endsWith('.cpuprofile'));
  const cpu = profFile ? summarizeCpuProfile(JSON.parse(readFileSync(path.join(profDir, profFile), 'utf8')), o.root) : undefined;

  // 3. What each dependency costs on its own, in a fresh plain node (median of `repeats`).
  o.log('profile: isolated require costs');
  const isolated = async (label: string, body: string) => {
    const script = `const t0 = process.hrtime.bigint(); ${body}; const ms = Number(process.hrtime.bigint() - t0) / 1e6;` +
      ` process.stdout.write(JSON.stringify({ ms, rssMb: process.memoryUsage().rss / 1048576, maxRssMb: process.resourceUsage().maxRSS / 1024 }));`;
    const samples: { ms: number; maxRssMb: number }[] = [];
    for (let i = 0; i < o.repeats; i++) {
      const m = await measure([process.execPath, '--require', 'tsx/cjs', '-e', script], { cwd: o.root, env: { ...process.env, NODE_OPTIONS: '' }, gnuTime: false });
      samples.push(JSON.parse(m.stdout));
    }
    return { what: label, ms: r1(median(samples.map((s) => s.ms))), process_max_rss_mb: r1(median(samples.map((s) => s.maxRssMb))) };
  };
  const bundleOut = path.join(dir, 'bundle', 'index.js');
  const zipOut = path.join(dir, 'zip', 'archive.zip');
  mkdirSync(path.dirname(zipOut), { recursive: true });
  const deep = o.providerModules.map((m) => `@cdktf/provider-aws/lib/${m}`);
  const requireCosts = [
    await isolated('(baseline: node + tsx/cjs hooks, nothing required)', ''),
    await isolated("require('constructs')", "require('constructs')"),
    await isolated("require('cdktf')", "require('cdktf')"),
    await isolated("require('zod')", "require('zod')"),
    await isolated(`require() of the ${deep.length} deep provider modules the app imports (with cdktf)`, `for (const m of ${JSON.stringify(deep)}) require(m)`),
    await isolated("require('@cdktf/provider-aws') (package root, with cdktf)", "require('@cdktf/provider-aws')"),
    await isolated('bundleHandler(): esbuild bundle + minify of the handler (first call in a process)',
      `require(${JSON.stringify(path.join(o.root, 'handlers', 'log-rescue', 'bundle'))}).bundleHandler(${JSON.stringify(bundleOut)})`),
    await isolated("cdktf's ARCHIVE asset zip: execSync('node cdktf/lib/private/fs.js <dir> <zip>'), as synth does",
      `require('node:child_process').execSync('node ' + require.resolve('cdktf/lib/private/fs.js') + ' ' + ${JSON.stringify(path.dirname(bundleOut))} + ' ' + ${JSON.stringify(zipOut)})`),
  ];

  // 4. Start-up floor of each way of running a TypeScript file (an empty one), wall time and largest process.
  o.log('profile: start-up floors');
  const empty = path.join(dir, 'empty.ts');
  writeFileSync(empty, 'export {};\n');
  const floor = async (label: string, argv: string[]) => {
    const runs = [];
    for (let i = 0; i < o.repeats; i++) runs.push(await measure(argv, { cwd: o.root, env: { ...process.env, CHECKPOINT_DISABLE: '1' } }));
    return {
      how: label, s: round(median(runs.map((r) => r.seconds)), 3),
      max_rss_mb: runs[0].treeMaxRssMb === undefined ? undefined : r1(median(runs.map((r) => r.treeMaxRssMb ?? 0))),
    };
  };
  const startup = [
    await floor("node -e ''", [process.execPath, '-e', '']),
    await floor('node --require tsx/cjs empty.ts', [process.execPath, '--require', 'tsx/cjs', empty]),
    await floor('node --import tsx empty.ts', [process.execPath, '--import', 'tsx', empty]),
    await floor('node_modules/.bin/tsx empty.ts (tsx cli: a parent node + a child node with the ESM loader thread)', [tsx, empty]),
    await floor('npx tsx empty.ts', ['sh', '-c', `npx tsx ${JSON.stringify(empty)}`]),
  ];

  return {
    phases_of_main_ts: phases.phases,
    phases_note: 'profile-app.ts does what main.ts does, with the module-load probe loaded (which adds some overhead); endMs counts from process start',
    module_loads: moduleLoads,
    cpu_profile_main_ts: cpu ?? 'no CPU profile was found for the main.ts process',
    cpu_profile_note: "node --cpu-prof --require tsx/cjs main.ts; self time by package (project:<file> for ours, '(garbage collector)', '(program)' = V8/native work outside JS such as parsing and compiling)",
    isolated_costs: requireCosts,
    startup_floor: startup,
  };
}
