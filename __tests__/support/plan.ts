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
    const plans: Record<string, any> = {};
    try {
      const app = synthApp(config, { outdir, hcl: opts.hcl ?? false });
      for (const name of app.node.children.map((c) => c.node.id).filter((n) => !opts.only || opts.only.includes(n))) {
        const dir = path.join(outdir, 'stacks', name);
        for (const [file, content] of Object.entries(opts.extraFiles?.(sts.url) ?? {})) writeFileSync(path.join(dir, file), JSON.stringify(content));
        const state = opts.states?.[name];
        const result = await planOffline(dir, tc, sts.url, state ? { state, refresh: false } : {});
        plans[name] = result.plan;
        result.cleanup();
      }
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
    return plans;
  };
}
