/** Turning raw benchmark samples into the report: medians, ratios, targets. No measuring here. */
import { Summary, ratio, round, summarize } from './stats';

export interface MachineInfo {
  readonly cpus: number;
  readonly cpu_model: string;
  readonly total_mem_mb: number;
  readonly os: string;
  readonly node: string;
  readonly terraform: string;
  readonly date: string;
  /** os.loadavg() when the benchmark started: other work on the machine inflates every figure. */
  readonly load_avg_start: number[];
}

/** One way of running the app: samples of wall time and of the peak RSS of the node process running main.ts. */
export interface AppSamples {
  readonly command: string;
  readonly seconds: number[];
  readonly rssMb: number[];
  /** GNU time's %M (largest single process of the tree), when available. */
  readonly treeMaxRssMb: number[];
  /** Peak RSS per process of the tree, by a short label (npx, tsx cli, node main.ts, ...). */
  readonly processRssMb: Record<string, number[]>;
}

export interface RawMeasurements {
  readonly machine: MachineInfo;
  readonly runs: number;
  readonly quick: boolean;
  readonly app: AppSamples;
  /** `node_modules/.bin/tsx main.ts`: the app command without the npx wrapper. */
  readonly appRawTsx: AppSamples;
  readonly barrel: AppSamples;
  /** Other ways of running the same app, for comparison (not targets). */
  readonly alternatives: Record<string, AppSamples & { readonly description: string }>;
  readonly cdktfSynthSeconds: number[];
  /** `npm run --silent synth -- --output <dir>`: the synth users run (scripts/synth.cjs). */
  readonly npmRunSynthSeconds: number[];
  readonly terraformValidateSeconds: Record<string, number[]>;
  readonly terraformInitSeconds: Record<string, number>;
  readonly handlerBundleBytes: number;
  readonly handlerInitMs: number[];
  readonly nodeBaselineSeconds: number[];
  readonly barrelVariant: Record<string, unknown>;
  readonly notes: string[];
  readonly profile?: unknown;
}

export interface Target {
  readonly value: number;
  readonly limit: number;
  readonly op: '<=' | '>=';
  readonly met: boolean;
}

/**
 * Targets (issue 7; the `*_x_node` ratios, issue 19: a ratio to `node -e ''` measured in the same
 * run holds on any machine, where seconds do not).
 */
export const TARGETS: Record<string, { limit: number; op: '<=' | '>=' }> = {
  synth_app_s: { limit: 1.0, op: '<=' },
  synth_app_x_node: { limit: 8, op: '<=' },
  npm_run_synth_x_node: { limit: 12, op: '<=' },
  synth_app_rss_mb: { limit: 150, op: '<=' },
  speedup: { limit: 5, op: '>=' },
  memory_ratio: { limit: 4, op: '>=' },
  handler_bundle_kb: { limit: 700, op: '<=' },
  handler_init_ms: { limit: 100, op: '<=' },
};

/** Top-level figures every report has, each a number (terraform_validate_s: a number per stack). */
export const REQUIRED_NUMERIC_KEYS = [
  'synth_app_s', 'synth_app_rss_mb', 'synth_app_raw_tsx_s', 'synth_app_raw_tsx_rss_mb', 'npx_overhead_s',
  'synth_barrel_s', 'synth_barrel_rss_mb', 'speedup', 'memory_ratio', 'cdktf_synth_s',
  'npm_run_synth_s', 'synth_app_x_node', 'npm_run_synth_x_node', 'cdktf_synth_x_node',
  'handler_bundle_kb', 'handler_init_ms', 'node_baseline_s',
] as const;

export type Report = Record<(typeof REQUIRED_NUMERIC_KEYS)[number], number> & {
  readonly date: string;
  readonly machine: MachineInfo;
  readonly runs: number;
  readonly quick: boolean;
  readonly app_command: string;
  readonly terraform_validate_s: Record<string, number>;
  readonly targets: Record<string, Target>;
  readonly missed: string[];
  readonly stats: Record<string, Summary | Record<string, Summary>>;
  readonly processes: Record<string, Record<string, number>>;
  readonly alternatives: Record<string, { description: string; command: string; s: number; rss_mb: number; vs_app_s: number }>;
  readonly terraform_init_s: Record<string, number>;
  readonly barrel_variant: Record<string, unknown>;
  readonly notes: string[];
  readonly profile?: unknown;
};

function perProcess(samples: AppSamples): Record<string, number> {
  return Object.fromEntries(Object.entries(samples.processRssMb).map(([k, v]) => [k, summarize(v, 1).median]));
}

export function checkTarget(name: string, value: number): Target {
  const t = TARGETS[name];
  if (!t) throw new Error(`no target named ${name}`);
  return { value, limit: t.limit, op: t.op, met: t.op === '<=' ? value <= t.limit : value >= t.limit };
}

export function missedLine(name: string, t: Target): string {
  return `MISSED ${name}: ${t.value} (target ${t.op} ${t.limit})`;
}

export function buildReport(m: RawMeasurements): Report {
  const s = {
    synth_app_s: summarize(m.app.seconds, 3),
    synth_app_rss_mb: summarize(m.app.rssMb, 1),
    synth_app_raw_tsx_s: summarize(m.appRawTsx.seconds, 3),
    synth_app_raw_tsx_rss_mb: summarize(m.appRawTsx.rssMb, 1),
    synth_barrel_s: summarize(m.barrel.seconds, 3),
    synth_barrel_rss_mb: summarize(m.barrel.rssMb, 1),
    cdktf_synth_s: summarize(m.cdktfSynthSeconds, 3),
    npm_run_synth_s: summarize(m.npmRunSynthSeconds, 3),
    handler_init_ms: summarize(m.handlerInitMs, 1),
    node_baseline_s: summarize(m.nodeBaselineSeconds, 3),
  };
  const tree: Record<string, Summary> = {};
  for (const [k, v] of [['synth_app', m.app], ['synth_app_raw_tsx', m.appRawTsx], ['synth_barrel', m.barrel]] as const) {
    if (v.treeMaxRssMb.length) tree[`${k}_tree_max_rss_mb`] = summarize(v.treeMaxRssMb, 1);
  }
  const validate = Object.fromEntries(Object.entries(m.terraformValidateSeconds).map(([k, v]) => [k, summarize(v, 3)]));
  const figures = {
    synth_app_s: s.synth_app_s.median,
    synth_app_rss_mb: s.synth_app_rss_mb.median,
    synth_app_raw_tsx_s: s.synth_app_raw_tsx_s.median,
    synth_app_raw_tsx_rss_mb: s.synth_app_raw_tsx_rss_mb.median,
    npx_overhead_s: round(s.synth_app_s.median - s.synth_app_raw_tsx_s.median, 3),
    synth_barrel_s: s.synth_barrel_s.median,
    synth_barrel_rss_mb: s.synth_barrel_rss_mb.median,
    speedup: ratio(s.synth_barrel_s.median, s.synth_app_s.median),
    memory_ratio: ratio(s.synth_barrel_rss_mb.median, s.synth_app_rss_mb.median),
    cdktf_synth_s: s.cdktf_synth_s.median,
    npm_run_synth_s: s.npm_run_synth_s.median,
    synth_app_x_node: ratio(s.synth_app_s.median, s.node_baseline_s.median),
    npm_run_synth_x_node: ratio(s.npm_run_synth_s.median, s.node_baseline_s.median),
    cdktf_synth_x_node: ratio(s.cdktf_synth_s.median, s.node_baseline_s.median),
    handler_bundle_kb: round(m.handlerBundleBytes / 1024, 1),
    handler_init_ms: s.handler_init_ms.median,
    node_baseline_s: s.node_baseline_s.median,
  };
  const targets = Object.fromEntries(Object.keys(TARGETS).map((k) => [k, checkTarget(k, figures[k as keyof typeof figures])]));
  const missed = Object.entries(targets).filter(([, t]) => !t.met).map(([k, t]) => missedLine(k, t));
  const alternatives = Object.fromEntries(Object.entries(m.alternatives).map(([k, a]) => {
    const sec = summarize(a.seconds, 3);
    const rss = summarize(a.rssMb, 1);
    (s as Record<string, Summary>)[`alt_${k}_s`] = sec;
    (s as Record<string, Summary>)[`alt_${k}_rss_mb`] = rss;
    return [k, { description: a.description, command: a.command, s: sec.median, rss_mb: rss.median, vs_app_s: round(sec.median - figures.synth_app_s, 3) }];
  }));
  return {
    date: m.machine.date,
    machine: m.machine,
    runs: m.runs,
    quick: m.quick,
    app_command: m.app.command,
    ...figures,
    terraform_validate_s: Object.fromEntries(Object.entries(validate).map(([k, v]) => [k, v.median])),
    targets,
    missed,
    stats: { ...s, ...tree, terraform_validate_s: validate },
    processes: { synth_app: perProcess(m.app), synth_app_raw_tsx: perProcess(m.appRawTsx), synth_barrel: perProcess(m.barrel) },
    alternatives,
    terraform_init_s: Object.fromEntries(Object.entries(m.terraformInitSeconds).map(([k, v]) => [k, round(v, 3)])),
    barrel_variant: m.barrelVariant,
    notes: m.notes,
    ...(m.profile === undefined ? {} : { profile: m.profile }),
  };
}
