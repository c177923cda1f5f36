/**
 * `npm run bench`: how long synth takes and how much memory it needs, with deep provider imports
 * (ours) and with the package-root "barrel" import, plus the rest of the pipeline (cdktf CLI synth,
 * terraform validate) and the Lambda handler bundle. Prints a JSON report on stdout, writes it to
 * bench/results.json, and prints one `MISSED ...` line per missed target on stderr. Exits 0 when
 * every run succeeded, missed targets or not: it is a report, not a test.
 *
 *   tsx scripts/bench.ts [--runs N] [--quick] [--no-profile]
 *
 * Every figure is the median of N runs (default 5) measured in this one invocation; the app's
 * variants are run interleaved (app, raw tsx, alternatives, barrel, app, ...) after one warm-up
 * each, so drift on a busy machine hits them all alike.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleHandler } from '../handlers/log-rescue/bundle';
import { planOffline, prepareToolchain, startStsStandIn } from './offline-terraform';
import { appSourceFiles, generateBarrelVariant } from './bench/barrel';
import { generateCompiledVariant } from './bench/compiled';
import { GNU_TIME, Measurement, describeProcess, measure, processRunning } from './bench/measure';
import { runProfile } from './bench/profile';
// Plain JavaScript on purpose (it loads no TypeScript loader): required, with its type.
const { cliAppEnv } = require('./synth.cjs') as {
  cliAppEnv: (env: NodeJS.ProcessEnv, config: CdktfJson, outdir: string, hcl: boolean) => NodeJS.ProcessEnv;
};
import { AppSamples, MachineInfo, RawMeasurements, buildReport } from './bench/report';

const ROOT = path.resolve(__dirname, '..');
const RESULTS = path.join(ROOT, 'bench', 'results.json');

export interface BenchOptions {
  readonly runs: number;
  readonly quick: boolean;
  readonly profile: boolean;
}

export function parseArgs(argv: string[]): BenchOptions {
  let runs = 5;
  let quick = false;
  let profile = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quick') quick = true;
    else if (a === '--no-profile') profile = false;
    else if (a === '--runs' || a.startsWith('--runs=')) {
      const v = a === '--runs' ? argv[++i] : a.slice('--runs='.length);
      if (!/^\d+$/.test(v ?? '') || Number(v) < 1) throw new Error(`--runs needs a positive integer, got ${JSON.stringify(v)}`);
      runs = Number(v);
    } else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: tsx scripts/bench.ts [--runs N] [--quick] [--no-profile]\n' +
        '  --runs N      runs per figure (default 5)\n' +
        '  --quick       3 runs (at most N) of the slow figures: cdktf synth and terraform validate\n' +
        '  --no-profile  skip the profile that runs when a synth target is missed\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a} (try --help)`);
  }
  return { runs, quick, profile };
}

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

interface CdktfJson { app?: string; terraformModules?: (string | { source: string })[] }

function readCdktfJson(): CdktfJson {
  return JSON.parse(readFileSync(path.join(ROOT, 'cdktf.json'), 'utf8')) as CdktfJson;
}

/** The CLI's app environment (scripts/synth.cjs, shared with `npm run synth`), plus the CLI's NODE_OPTIONS default and CHECKPOINT_DISABLE=1. */
function cdktfAppEnv(cfg: CdktfJson, outdir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = cliAppEnv(process.env, cfg, outdir, false);
  if (!env.NODE_OPTIONS) env.NODE_OPTIONS = '--max-old-space-size=4096';
  return { ...env, CHECKPOINT_DISABLE: '1' };
}

/** The stacks' Terraform JSON in an outdir: stack name -> parsed cdk.tf.json. */
function readStacks(outdir: string): Record<string, unknown> {
  const dir = path.join(outdir, 'stacks');
  if (!existsSync(dir)) throw new Error(`no stacks were synthesized into ${outdir}`);
  return Object.fromEntries(readdirSync(dir).sort().map((s) => [s, JSON.parse(readFileSync(path.join(dir, s, 'cdk.tf.json'), 'utf8'))]));
}

/** Asset paths (`assets/<id>/<hash>/...`) replaced by a placeholder. */
function withoutAssetPaths(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v).replace(/assets\/[A-Za-z0-9_.-]+\/[A-Fa-f0-9]+\/[^"]*/g, 'assets/<asset>'));
}

/** Same Terraform JSON for every stack? Exact first; asset paths ignored only if that is the sole difference. */
function compareOutputs(reference: string, candidate: string, what: string): { stacks: string[]; identical: 'exact' | 'except asset paths' } {
  const a = readStacks(reference);
  const b = readStacks(candidate);
  const names = Object.keys(a);
  if (JSON.stringify(names) !== JSON.stringify(Object.keys(b))) {
    throw new Error(`${what} synthesized stacks ${Object.keys(b).join(', ')}, ours ${names.join(', ')}`);
  }
  if (JSON.stringify(a) === JSON.stringify(b)) return { stacks: names, identical: 'exact' };
  for (const n of names) {
    if (JSON.stringify(withoutAssetPaths(a[n])) !== JSON.stringify(withoutAssetPaths(b[n]))) {
      throw new Error(`${what} does not synthesize the same Terraform JSON as ours for stack ${n} ` +
        `(compare ${path.join(reference, 'stacks', n, 'cdk.tf.json')} with ${path.join(candidate, 'stacks', n, 'cdk.tf.json')})`);
    }
  }
  return { stacks: names, identical: 'except asset paths' };
}

/** `sh -c <app command>` in `cwd`, as cdktf runs it, measured; the RSS figure is the node process running `<cwd>/main.*`. */
interface AppRunner {
  readonly key: string;
  readonly command: string;
  readonly cwd: string;
  readonly mainScript: string;
  readonly description: string;
}

function emptySamples(r: AppRunner): AppSamples {
  return { command: r.command, seconds: [], rssMb: [], treeMaxRssMb: [], processRssMb: {} };
}

async function runApp(r: AppRunner, cfg: CdktfJson, outdir: string): Promise<Measurement> {
  const m = await measure(['sh', '-c', r.command], { cwd: r.cwd, env: cdktfAppEnv(cfg, outdir), probe: true });
  if (!processRunning(m.processes, r.mainScript)) {
    throw new Error(`'${r.command}' ran, but no node process running ${r.mainScript} reported its peak RSS ` +
      `(saw: ${m.processes.map((p) => p.argv.slice(1, 2).join(' ')).join('; ') || 'none'})`);
  }
  return m;
}

function record(samples: AppSamples, r: AppRunner, m: Measurement): void {
  const main = processRunning(m.processes, r.mainScript)!;
  samples.seconds.push(m.seconds);
  samples.rssMb.push(main.maxRssMb);
  if (m.treeMaxRssMb !== undefined) samples.treeMaxRssMb.push(m.treeMaxRssMb);
  // Label each process of the tree; two with the same label (cdktf's zip child per asset) keep the larger.
  const seen: Record<string, number> = {};
  for (const p of m.processes) {
    const label = p === main ? `${describeProcess(p, r.cwd)} (the app)` : describeProcess(p, r.cwd);
    seen[label] = Math.max(seen[label] ?? 0, p.maxRssMb);
  }
  for (const [label, v] of Object.entries(seen)) (samples.processRssMb[label] ??= []).push(v);
}

function machineInfo(terraform: string): MachineInfo {
  const cpus = os.cpus();
  let tf = 'unknown';
  try {
    tf = JSON.parse(execFileSync(terraform, ['version', '-json'], { env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' }, encoding: 'utf8' })).terraform_version;
  } catch (e) {
    tf = `unavailable (${(e as Error).message.split('\n')[0]})`;
  }
  return {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? 'unknown',
    total_mem_mb: Math.round(os.totalmem() / 1048576),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    terraform: tf,
    date: new Date().toISOString(),
    load_avg_start: os.loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

/**
 * The environment the Lambda gets, read from the synthesized log-rescue stack (so it follows the
 * handler's settings as they change), with the simple Terraform expressions in it resolved:
 * `${join(",", ["a", "b"])}` and `${<type>.<name>.<attr>}` of a literal attribute in the same stack.
 */
export function lambdaEnvironment(outdir: string): Record<string, string> {
  const stacksDir = path.join(outdir, 'stacks');
  for (const stack of readdirSync(stacksDir)) {
    const tf = JSON.parse(readFileSync(path.join(stacksDir, stack, 'cdk.tf.json'), 'utf8'));
    const fns = Object.values(tf.resource?.aws_lambda_function ?? {}) as { handler?: string; environment?: { variables?: Record<string, string> } }[];
    const fn = fns.find((f) => f.handler === 'index.handler' && f.environment?.variables);
    if (!fn) continue;
    const region = [tf.provider?.aws].flat().find((p: { region?: string } | undefined) => typeof p?.region === 'string')?.region ?? 'us-east-1';
    // What a plan would know: the stand-in account and the commercial partition's DNS suffix for
    // the context data sources, and configured attributes of resources.
    const known = (expr: string): string | undefined => {
      if (/^data\.aws_caller_identity\.[A-Za-z0-9_-]+\.account_id$/.test(expr)) return '123456789012';
      if (/^data\.aws_partition\.[A-Za-z0-9_-]+\.dns_suffix$/.test(expr)) return 'amazonaws.com';
      const ref = /^([a-z0-9_]+)\.([A-Za-z0-9_-]+)\.([a-z0-9_]+)$/.exec(expr);
      const attr = ref && tf.resource?.[ref[1]]?.[ref[2]]?.[ref[3]];
      return typeof attr === 'string' && !attr.includes('${') ? attr : undefined;
    };
    const resolve = (key: string, v: string): string => {
      if (!v.includes('${')) return v;
      const join = /^\$\{join\("((?:[^"\\]|\\.)*)",\s*\[((?:\s*"[^"]*"\s*,?)*)\]\)\}$/.exec(v);
      if (join) return [...join[2].matchAll(/"([^"]*)"/g)].map((m) => m[1]).join(JSON.parse(`"${join[1]}"`));
      const parts = v.split(/(\$\{[^}]*\})/);
      const values = parts.map((part) => (part.startsWith('${') ? known(part.slice(2, -1)) : part));
      if (values.every((x): x is string => x !== undefined)) return values.join('');
      throw new Error(`handler_init_ms: cannot resolve the Lambda's ${key}=${v} offline; extend lambdaEnvironment() in scripts/bench.ts`);
    };
    return {
      AWS_REGION: region,
      ...Object.fromEntries(Object.entries(fn.environment!.variables!).map(([k, v]) => [k, resolve(k, v)])),
    };
  }
  throw new Error(`no aws_lambda_function with handler index.handler in ${stacksDir}`);
}

/** A hash of the app's sources, to tell whether someone edited them while the benchmark ran. */
function sourcesHash(): string {
  const h = createHash('sha256');
  for (const f of appSourceFiles(ROOT).sort()) h.update(f).update(readFileSync(f));
  return h.digest('hex').slice(0, 16);
}

/** Deep provider modules the app imports, for the profile. */
function providerModulesUsed(): string[] {
  const mods = new Set<string>();
  for (const f of appSourceFiles(ROOT).filter((x) => x.endsWith('.ts'))) {
    for (const m of readFileSync(f, 'utf8').matchAll(/['"]@cdktf\/provider-aws\/lib\/([^'"]+)['"]/g)) mods.add(m[1]);
  }
  return [...mods].sort();
}

export async function bench(opts: BenchOptions): Promise<number> {
  const cfg = readCdktfJson();
  if (!cfg.app) throw new Error('cdktf.json has no "app" command');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'logrescue-bench-'));
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  const onSignal = (sig: NodeJS.Signals) => { cleanup(); process.kill(process.pid, sig); };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const notes: string[] = [];
  let outSeq = 0;
  // cdktf's App creates its outdir but not the parents.
  mkdirSync(path.join(tmp, 'out'));
  const newOut = () => path.join(tmp, 'out', String(outSeq++));
  const slowRuns = opts.quick ? Math.min(3, opts.runs) : opts.runs;
  try {
    const tc = await prepareToolchain();
    const machine = machineInfo(tc.terraform);
    const hashAtStart = sourcesHash();
    log(`${machine.cpus} cpus, node ${machine.node}, terraform ${machine.terraform}; ${opts.runs} runs${opts.quick ? ' (quick)' : ''}`);
    if (opts.runs < 5) notes.push(`--runs ${opts.runs}: fewer than the 5 runs per figure the issue asks for`);

    // The variants: generated outside the project (temp dir, node_modules symlinked), removed at the end.
    const barrelDir = path.join(tmp, 'barrel');
    const barrelInfo = generateBarrelVariant(ROOT, barrelDir);
    log(`barrel variant: ${barrelInfo.rewrittenStatements} deep imports rewritten in ${barrelInfo.rewrittenFiles} of ${barrelInfo.files} files`);
    const compiledDir = path.join(tmp, 'compiled');
    generateCompiledVariant(ROOT, compiledDir);

    const tsxBin = path.join('node_modules', '.bin', 'tsx');
    const app: AppRunner = { key: 'app', command: cfg.app, cwd: ROOT, mainScript: path.join(ROOT, 'main.ts'), description: 'cdktf.json app command' };
    const rawTsx: AppRunner = { key: 'raw_tsx', command: `${tsxBin} main.ts`, cwd: ROOT, mainScript: path.join(ROOT, 'main.ts'), description: 'tsx without npx' };
    const barrel: AppRunner = { key: 'barrel', command: cfg.app, cwd: barrelDir, mainScript: path.join(barrelDir, 'main.ts'), description: 'barrel imports, cdktf.json app command' };
    const alternatives: AppRunner[] = [
      { key: 'node_require_tsx_cjs', command: 'node --require tsx/cjs main.ts', cwd: ROOT, mainScript: path.join(ROOT, 'main.ts'),
        description: "plain node with tsx's CommonJS hooks only: one node process, no npx, no tsx CLI parent, no ESM loader thread" },
      { key: 'node_require_tsx_cjs_no_source_maps', command: `node --require tsx/cjs --require ${JSON.stringify(path.join(__dirname, 'bench', 'no-source-maps.cjs'))} main.ts`, cwd: ROOT, mainScript: path.join(ROOT, 'main.ts'),
        description: "as node_require_tsx_cjs, then process.setSourceMapsEnabled(false): tsx turns source maps on, and node then parses the inline source map of every cdktf/provider module it loads" },
      { key: 'precompiled_js', command: 'node main.js', cwd: compiledDir, mainScript: path.join(compiledDir, 'main.js'),
        description: 'the same sources transpiled to JS beforehand (esbuild, per file), run by plain node: no TypeScript loader at all' },
    ];
    const all = [app, rawTsx, ...alternatives, barrel];

    // Warm-up (tsx's transform cache, the OS file cache) doubling as the check that every variant synthesizes what ours does.
    log('warm-up and output check');
    const refOut = newOut();
    await runApp(app, cfg, refOut);
    const checks: Record<string, unknown> = {};
    for (const r of all.slice(1)) {
      const out = newOut();
      await runApp(r, cfg, out);
      checks[r.key] = compareOutputs(refOut, out, r.key === 'barrel' ? 'the barrel variant' : r.command);
      if (r.key !== 'barrel') rmSync(out, { recursive: true, force: true });
    }
    const barrelCheck = checks.barrel as { stacks: string[]; identical: string };
    log(`every variant synthesizes the same Terraform JSON (${barrelCheck.stacks.join(', ')})`);

    // The handler: bundle size, and module init in fresh node processes with the Lambda's settings.
    const bundleFile = path.join(tmp, 'handler', 'index.js');
    mkdirSync(path.dirname(bundleFile), { recursive: true });
    const { bytes } = bundleHandler(bundleFile);
    const handlerEnv = { PATH: process.env.PATH ?? '', ...lambdaEnvironment(refOut) };
    const initProbe = 'const t = process.hrtime.bigint(); const m = require(process.argv[1]); const ms = Number(process.hrtime.bigint() - t) / 1e6;' +
      " if (typeof m.handler !== 'function') throw new Error('the bundle exports no handler'); process.stdout.write(JSON.stringify({ ms }));";
    const handlerInitMs: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      const m = await measure([process.execPath, '--no-warnings', '-e', initProbe, bundleFile], { cwd: path.dirname(bundleFile), env: handlerEnv, gnuTime: false });
      handlerInitMs.push(JSON.parse(m.stdout).ms);
    }
    log(`handler: ${(bytes / 1024).toFixed(1)} KB, init ${handlerInitMs.map((v) => v.toFixed(0)).join(' ')} ms`);

    // Timed, interleaved.
    const samples = new Map(all.map((r) => [r.key, emptySamples(r)]));
    for (let i = 0; i < opts.runs; i++) {
      for (const r of all) {
        const out = newOut();
        const m = await runApp(r, cfg, out);
        record(samples.get(r.key)!, r, m);
        rmSync(out, { recursive: true, force: true });
      }
      log(`run ${i + 1}/${opts.runs}: ${all.map((r) => `${r.key} ${samples.get(r.key)!.seconds[i].toFixed(2)}s`).join(', ')}`);
    }

    // The full CLI.
    const cdktfSynthSeconds: number[] = [];
    for (let i = 0; i < slowRuns; i++) {
      const out = newOut();
      const m = await measure(['sh', '-c', `npx cdktf synth --output ${JSON.stringify(out)}`], { cwd: ROOT, env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
      cdktfSynthSeconds.push(m.seconds);
      rmSync(out, { recursive: true, force: true });
      log(`cdktf synth ${i + 1}/${slowRuns}: ${m.seconds.toFixed(2)}s`);
    }
    if (opts.quick && slowRuns < 5) notes.push(`--quick: cdktf_synth_s and terraform_validate_s are medians of ${slowRuns} runs, not 5`);

    // What users run: npm, then the app in-process (scripts/synth.cjs); its output checked against the app's.
    const npmRunSynthSeconds: number[] = [];
    for (let i = 0; i < opts.runs; i++) {
      const out = newOut();
      const m = await measure(['npm', 'run', '--silent', 'synth', '--', '--output', out], { cwd: ROOT, env: { ...process.env, CHECKPOINT_DISABLE: '1' }, gnuTime: false });
      if (i === 0) compareOutputs(refOut, out, 'npm run synth');
      npmRunSynthSeconds.push(m.seconds);
      rmSync(out, { recursive: true, force: true });
      log(`npm run synth ${i + 1}/${opts.runs}: ${m.seconds.toFixed(2)}s`);
    }

    // terraform validate per stack, offline: init once (planOffline also plans), then validate N times in that copy.
    const terraformValidateSeconds: Record<string, number[]> = {};
    const terraformInitSeconds: Record<string, number> = {};
    const sts = await startStsStandIn();
    try {
      for (const stack of barrelCheck.stacks) {
        const plan = await planOffline(path.join(refOut, 'stacks', stack), tc, sts.url, { keep: true, ownInit: true });
        try {
          terraformInitSeconds[stack] = plan.timings.init;
          const env = { ...process.env, TF_CLI_CONFIG_FILE: tc.cliConfigFile, TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1', TF_DATA_DIR: path.join(plan.workDir, '.terraform') };
          terraformValidateSeconds[stack] = [];
          for (let i = 0; i < slowRuns; i++) {
            const m = await measure([tc.terraform, 'validate', '-no-color'], { cwd: plan.workDir, env, gnuTime: false });
            terraformValidateSeconds[stack].push(m.seconds);
          }
          log(`terraform validate ${stack}: ${terraformValidateSeconds[stack].map((s) => s.toFixed(2)).join(' ')}`);
        } finally {
          plan.cleanup();
        }
      }
    } finally {
      await sts.close();
    }

    const nodeBaselineSeconds: number[] = [];
    for (let i = 0; i < opts.runs; i++) nodeBaselineSeconds.push((await measure([process.execPath, '-e', ''], { cwd: ROOT, env: process.env, gnuTime: false })).seconds);

    const appSamples = samples.get('app')!;
    if (sourcesHash() !== hashAtStart) {
      notes.push('The app\'s sources changed while the benchmark ran (someone was editing): the timed app runs used the live files, the barrel and precompiled variants the copy taken at the start.');
    }
    const load = os.loadavg().map((v) => Math.round(v * 100) / 100);
    notes.push(`Load average (1, 5, 15 min) at the start: ${machine.load_avg_start.join(', ')}; at the end: ${load.join(', ')} on ${machine.cpus} CPUs. Other work on the machine inflates every figure; compare figures from one run, not across runs.`);
    notes.push(
      `synth_*_s: wall time of 'sh -c <command>' (as cdktf's CLI spawns the app) from spawn to exit, with the env the CLI gives the app (CDKTF_OUTDIR=<temp dir>, NODE_OPTIONS=--max-old-space-size=4096, CDKTF_CONTEXT_JSON, SYNTH_HCL_OUTPUT=false) and CHECKPOINT_DISABLE=1; one untimed warm-up per variant first (tsx's transform cache is warm, as on a developer machine after the first synth).`,
      `synth_*_rss_mb: peak RSS (getrusage maxRSS, read at exit by a --require probe in NODE_OPTIONS) of the one node process that runs main.ts. The app command '${cfg.app}' is a tree: sh -> npx (node) -> sh -> tsx CLI (node) -> node main.ts, and cdktf's ARCHIVE asset adds a child 'node cdktf/lib/private/fs.js' that zips the handler; esbuild runs as a Go child process. Per-process peaks are under 'processes'; ${existsSync(GNU_TIME) ? `'stats.*_tree_max_rss_mb' is ${GNU_TIME} -f %M, the largest single process of the tree (equal to the main.ts process whenever that is the largest).` : `${GNU_TIME} is absent, so there is no tree-wide figure.`} The processes do not all peak at once, so no honest sum is given.`,
      `npx_overhead_s = synth_app_s - synth_app_raw_tsx_s (node_modules/.bin/tsx main.ts). 'alternatives' are other ways to run the same sources, each checked to synthesize identical Terraform JSON; they are not targets.`,
      `synth_barrel_*: the app's sources copied to a temp dir (node_modules symlinked, same tsconfig) with all ${barrelInfo.rewrittenStatements} deep '@cdktf/provider-aws/lib/<x>' imports rewritten to 'import * as __providerAws from "@cdktf/provider-aws"; import X = __providerAws.<ns>.X;' (the namespaces the package root exports, read from its lib/index.d.ts); its cdk.tf.json for ${barrelCheck.stacks.join(', ')} matched ours (${barrelCheck.identical}). Run with the same app command.`,
      `cdktf_synth_s: 'npx cdktf synth --output <temp dir>' with CHECKPOINT_DISABLE=1 (the CLI then runs the app command itself, in the project dir).`,
      `npm_run_synth_s: 'npm run --silent synth -- --output <temp dir>' (scripts/synth.cjs: the app in npm's child process, no cdktf CLI), its first output checked against the app's. *_x_node: that median over node_baseline_s ('node -e ""'), both from this run.`,
      `terraform_validate_s: per stack, in an offline copy (scripts/offline-terraform.ts planOffline: mirror-only CLI config, overrides, init once), 'terraform validate' timed ${slowRuns} times; terraform_init_s is that stack's one init.`,
      `handler_init_ms: require() of the minified bundle (bundleHandler) timed inside each of ${opts.runs} fresh 'node' processes, with the environment variables of the synthesized aws_lambda_function (simple Terraform expressions resolved) and AWS_REGION.`,
    );
    const raw: RawMeasurements = {
      machine, runs: opts.runs, quick: opts.quick,
      app: appSamples,
      appRawTsx: samples.get('raw_tsx')!,
      barrel: samples.get('barrel')!,
      alternatives: Object.fromEntries(alternatives.map((a) => [a.key, { ...samples.get(a.key)!, description: a.description }])),
      cdktfSynthSeconds, npmRunSynthSeconds, terraformValidateSeconds, terraformInitSeconds,
      handlerBundleBytes: bytes, handlerInitMs, nodeBaselineSeconds,
      barrelVariant: { ...barrelInfo, dir: '(temp dir, removed)', output_check: barrelCheck },
      notes,
    };
    let report = buildReport(raw);
    const synthMissed = !report.targets.synth_app_s.met || !report.targets.synth_app_rss_mb.met;
    if (synthMissed && opts.profile) {
      log('a synth target was missed: profiling');
      let profile: unknown;
      try {
        profile = await runProfile({
          root: ROOT, tmp, appEnv: (outdir) => cdktfAppEnv(cfg, outdir), providerModules: providerModulesUsed(),
          repeats: opts.quick ? 1 : 3, log,
        });
      } catch (e) {
        profile = { error: `the profile failed: ${(e as Error).message}` };
        log(`the profile failed (the report is still written): ${(e as Error).message}`);
      }
      report = buildReport({ ...raw, profile });
    }
    const json = `${JSON.stringify(report, null, 2)}\n`;
    mkdirSync(path.dirname(RESULTS), { recursive: true });
    writeFileSync(RESULTS, json);
    process.stdout.write(json);
    for (const line of report.missed) process.stderr.write(`${line}\n`);
    log(`wrote ${path.relative(ROOT, RESULTS)}; ${report.missed.length === 0 ? 'every target met' : `${report.missed.length} target(s) missed`}`);
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    cleanup();
  }
}

if (require.main === module) {
  let opts: BenchOptions;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
  bench(opts).then((code) => { process.exitCode = code; }, (e: Error) => {
    process.stderr.write(`bench failed: ${e.stack ?? e.message}\n`);
    process.exitCode = 1;
  });
}
