import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { synthApp } from '../../app';
import { AppConfig } from '../../config/schema';
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

let running = 0;
const waiting: Array<() => void> = [];

/** Run `fn` when one of the PLAN_CONCURRENCY slots is free. */
export async function inPlanSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= PLAN_CONCURRENCY) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await fn();
  } finally {
    // Hand the slot straight to the next waiter, or free it.
    const next = waiting.shift();
    if (next) next();
    else running--;
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
    const planned = new Map<string, any>();
    try {
      const app = synthApp(config, { outdir, hcl: opts.hcl ?? false });
      const names = app.node.children.map((c) => c.node.id).filter((n) => !opts.only || opts.only.includes(n));
      // Every stack at once, as slots allow; a failure is reported once all have settled.
      const results = await Promise.allSettled(names.map((name) => inPlanSlot(async () => {
        const dir = path.join(outdir, 'stacks', name);
        for (const [file, content] of Object.entries(opts.extraFiles?.(sts.url) ?? {})) writeFileSync(path.join(dir, file), JSON.stringify(content));
        const state = opts.states?.[name];
        const result = await planOffline(dir, tc, sts.url, state ? { state, refresh: false } : {});
        planned.set(name, result.plan);
        result.cleanup();
      })));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      // In stack order, whichever plan finished first.
      return Object.fromEntries(names.map((n) => [n, planned.get(n)]));
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  };
}
