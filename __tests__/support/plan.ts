import { createHash } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, openSync, closeSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { synthApp } from '../../app';
import { AppConfig } from '../../config/schema';
import { createLimiter } from '../../handlers/log-rescue/limiter';
import { planOffline, prepareToolchain, startStsStandIn, Toolchain } from '../../scripts/offline-terraform';
import * as os from 'node:os';

/**
 * Registers beforeAll/afterAll that find terraform + the mirror (failing, never skipping, when
 * missing) and start the STS stand-in; returns a function that synthesizes a config (JSON or HCL)
 * and plans every stack offline, returning `terraform show -json` per stack.
 */
export interface OfflinePlanRequest {
  /** Synthesize HCL (cdk.tf) instead of JSON. */
  readonly hcl?: boolean;
  /** Plan only these stacks. @default every stack */
  readonly only?: string[];
  /** More `*_override.tf.json` files per stack dir, given the STS stand-in's URL (to keep it when overriding endpoints). */
  readonly extraFiles?: (stsUrl: string) => Record<string, unknown>;
  /** A prior state (terraform.tfstate v4 JSON) per stack, as if earlier applies had run; planned with -refresh=false. */
  readonly states?: Record<string, object>;
}

/**
 * How many offline plans one test file runs at once (LOG_RESCUE_PLAN_CONCURRENCY, default 2), over
 * all its calls. Each plan is its own working copy sharing the read-only provider install, so
 * Terraform allows it; each also runs a 700 MB provider process, so the limit is small.
 */
export const PLAN_CONCURRENCY = Math.max(1, Number(process.env.LOG_RESCUE_PLAN_CONCURRENCY) || 2);

/** Runs `fn` when one of the PLAN_CONCURRENCY slots is free. */
const inPlanSlot = createLimiter(PLAN_CONCURRENCY);

/**
 * The plan JSON of `stackDir` (as `planOffline` makes it), made once per jest run for the same
 * input. The test files of a run plan the same configurations again and again (the default config
 * in four files); each plan costs about 10 s of CPU whatever its size (Terraform starts the 700 MB
 * provider three times in `plan` and once in `show`), and the suite is CPU-bound on 2 cores.
 *
 * The key is everything Terraform reads: every file of the stack dir (the STS stand-in's URL, which
 * differs per test file, replaced by a placeholder), the prior state, -refresh, the CLI config and
 * the provider lock. Within a process the promise is shared; across jest workers the first to take
 * `<key>.lock` in the run's cache dir (LOGRESCUE_PLAN_CACHE, made by jest.global-setup.js) plans and
 * writes `<key>.json` (or `<key>.error`), and the others wait for it. Without that variable (a test
 * file run some other way) plans are shared within the process only.
 */
const planned = new Map<string, Promise<any>>();

export function sharedPlan(stackDir: string, tc: Toolchain, stsUrl: string, opts: { state?: object; refresh?: boolean } = {}): Promise<any> {
  const key = planKey(stackDir, tc, stsUrl, opts);
  // One line per request, so the run can report how many plans the sharing saved (global-teardown.js).
  if (process.env.LOGRESCUE_PLAN_CACHE && existsSync(process.env.LOGRESCUE_PLAN_CACHE)) {
    appendFileSync(path.join(process.env.LOGRESCUE_PLAN_CACHE, 'requests.log'), `${key}\n`);
  }
  let plan = planned.get(key);
  if (!plan) {
    plan = planOnce(key, () => inPlanSlot(async () => {
      const r = await planOffline(stackDir, tc, stsUrl, opts);
      r.cleanup();
      return r.plan;
    }));
    planned.set(key, plan);
  }
  // Every caller gets its own copy: tests may edit what they were given.
  return plan.then((p) => structuredClone(p));
}

export function planKey(stackDir: string, tc: Toolchain, stsUrl: string, opts: { state?: object; refresh?: boolean }): string {
  const h = createHash('sha256');
  const add = (label: string, data: string | Buffer) => h.update(`${label}\0${data.length}\0`).update(data);
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const p = path.join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else add(path.relative(stackDir, p), readFileSync(p).toString('latin1').split(stsUrl).join('<sts>'));
    }
  };
  walk(stackDir);
  add('state', JSON.stringify(opts.state ?? null));
  add('refresh', String(opts.refresh ?? true));
  add('cli config', readFileSync(tc.cliConfigFile));
  add('lock', readFileSync(path.join(tc.sharedInitDir, '.terraform.lock.hcl')));
  return h.digest('hex');
}

async function planOnce(key: string, make: () => Promise<any>): Promise<any> {
  const dir = process.env.LOGRESCUE_PLAN_CACHE;
  if (!dir || !existsSync(dir)) return make();
  const done = path.join(dir, `${key}.json`);
  const failed = path.join(dir, `${key}.error`);
  let owner = false;
  try {
    closeSync(openSync(path.join(dir, `${key}.lock`), 'wx'));
    owner = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  if (owner) {
    try {
      const plan = await make();
      writeFileSync(`${done}.tmp`, JSON.stringify(plan));
      renameSync(`${done}.tmp`, done);
      return plan;
    } catch (e) {
      writeFileSync(failed, String((e as Error).message ?? e));
      throw e;
    }
  }
  // Another worker is planning the same input: wait for its result (a plan takes seconds).
  const deadline = Date.now() + 600_000;
  for (;;) {
    if (existsSync(done)) return JSON.parse(readFileSync(done, 'utf8'));
    if (existsSync(failed)) throw new Error(readFileSync(failed, 'utf8'));
    if (Date.now() > deadline) throw new Error(`another jest worker took the plan ${key} in ${dir} and wrote nothing within 600 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

export function useOfflineTerraform(): (config: AppConfig, opts?: OfflinePlanRequest) => Promise<Record<string, any>> {
  let tc: Toolchain;
  let sts: { url: string; close: () => Promise<void> };
  beforeAll(async () => {
    tc = await prepareToolchain();
    sts = await startStsStandIn();
  });
  afterAll(async () => { await sts?.close(); });

  return async (config, opts = {}) => {
    const outdir = mkdtempSync(path.join(os.tmpdir(), 'logrescue-synth-'));
    const plans = new Map<string, any>();
    try {
      const app = synthApp(config, { outdir, hcl: opts.hcl ?? false });
      const names = app.node.children.map((c) => c.node.id).filter((n) => !opts.only || opts.only.includes(n));
      // Every stack at once, as slots allow; a failure is reported once all have settled.
      const results = await Promise.allSettled(names.map(async (name) => {
        const dir = path.join(outdir, 'stacks', name);
        for (const [file, content] of Object.entries(opts.extraFiles?.(sts.url) ?? {})) writeFileSync(path.join(dir, file), JSON.stringify(content));
        const state = opts.states?.[name];
        plans.set(name, await sharedPlan(dir, tc, sts.url, state ? { state, refresh: false } : {}));
      }));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      // In stack order, whichever plan finished first.
      return Object.fromEntries(names.map((n) => [n, plans.get(n)]));
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  };
}
