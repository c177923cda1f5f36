/** Running and measuring child processes for the benchmark: wall time, peak RSS, per-process peaks. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const RSS_PROBE = path.join(__dirname, 'rss-probe.cjs');
export const LOAD_PROBE = path.join(__dirname, 'load-probe.cjs');
export const GNU_TIME = '/usr/bin/time';

export interface ProcessPeak {
  readonly pid: number;
  readonly ppid: number;
  readonly argv: string[];
  readonly maxRssMb: number;
}

export interface Measurement {
  /** Wall time from spawn to exit, measured by this process. */
  readonly seconds: number;
  /** `/usr/bin/time -f %M`: peak RSS of the largest single process of the tree (undefined without GNU time). */
  readonly treeMaxRssMb?: number;
  /** Each node process's own peak RSS, if the RSS probe was loaded. */
  readonly processes: ProcessPeak[];
  readonly stdout: string;
  readonly stderr: string;
}

export interface MeasureOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Load the RSS probe into every node process (through NODE_OPTIONS). */
  readonly probe?: boolean;
  /** Wrap in GNU time for the tree's max RSS; default: when /usr/bin/time exists. */
  readonly gnuTime?: boolean;
}

/** NODE_OPTIONS with `--require <file>` added (quoted, so paths with spaces work). */
export function withRequire(nodeOptions: string | undefined, file: string): string {
  return `${nodeOptions ? `${nodeOptions} ` : ''}--require ${JSON.stringify(file)}`;
}

/** Run argv to completion; throws with its output if it fails. */
export async function measure(argv: string[], opts: MeasureOptions): Promise<Measurement> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-bench-m-'));
  try {
    const timeFile = path.join(dir, 'time.txt');
    const probeFile = path.join(dir, 'rss.jsonl');
    const useTime = opts.gnuTime ?? existsSync(GNU_TIME);
    const env: NodeJS.ProcessEnv = { ...opts.env };
    if (opts.probe) {
      env.NODE_OPTIONS = withRequire(env.NODE_OPTIONS, RSS_PROBE);
      env.BENCH_RSS_PROBE_FILE = probeFile;
    }
    const [cmd, ...args] = useTime ? [GNU_TIME, '-f', '%M', '-o', timeFile, ...argv] : argv;
    const { code, signal, stdout, stderr, seconds } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string; seconds: number }>((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const child = spawn(cmd, args, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (b: Buffer) => out.push(b));
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      child.on('close', (c, s) => resolve({
        code: c, signal: s, seconds: Number(process.hrtime.bigint() - t0) / 1e9,
        stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'),
      }));
    });
    if (code !== 0) {
      throw new Error(`'${argv.join(' ')}' (in ${opts.cwd}) failed with ${signal ?? `exit code ${code}`}:\n${(stderr || stdout).slice(-4000)}`);
    }
    let treeMaxRssMb: number | undefined;
    if (useTime) {
      const kb = Number(readFileSync(timeFile, 'utf8').trim().split('\n').pop());
      if (!Number.isFinite(kb)) throw new Error(`could not read ${GNU_TIME} output: ${readFileSync(timeFile, 'utf8')}`);
      treeMaxRssMb = kb / 1024;
    }
    const processes: ProcessPeak[] = opts.probe && existsSync(probeFile)
      ? readFileSync(probeFile, 'utf8').trim().split('\n').filter(Boolean).map((l) => {
        const p = JSON.parse(l) as { pid: number; ppid: number; argv: string[]; maxRssKb: number };
        return { pid: p.pid, ppid: p.ppid, argv: p.argv, maxRssMb: p.maxRssKb / 1024 };
      })
      : [];
    return { seconds, treeMaxRssMb, processes, stdout, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The process whose script (argv[1]) is `script`, e.g. the node process running main.ts under npx/tsx. */
export function processRunning(processes: readonly ProcessPeak[], script: string): ProcessPeak | undefined {
  const want = path.resolve(script);
  return processes.find((p) => p.argv[1] !== undefined && path.resolve(p.argv[1]) === want);
}

/** A short label for a probed process: `node <script>`, relative to cwd when inside it, else from its node_modules dir. */
export function describeProcess(p: ProcessPeak, cwd: string): string {
  const script = p.argv[1];
  if (!script) return 'node (eval)';
  const rel = path.relative(cwd, script);
  if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return `node ${rel}`;
  const nm = script.lastIndexOf(`${path.sep}node_modules${path.sep}`);
  const label = nm >= 0 ? script.slice(nm + 1) : script;
  return /[\\/]npm[\\/]bin[\\/]npm-cli\.js$/.test(script) ? `npx: node ${label}` : `node ${label}`;
}
