import { existsSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, TerraformStack } from 'cdktf';
import { AppConfig } from './config/schema';
import { addressProblems } from './modules/shared/addresses';
import { hclOutput } from './modules/shared/terraform-text';
import { BaseStack } from './stacks/base-stack';
import { ArchiveStack } from './stacks/archive-stack';
import { DemoFleetStack } from './stacks/demo-fleet-stack';
import { LogRescueStack } from './stacks/log-rescue-stack';
import { SessionLogsStack } from './stacks/session-logs-stack';
import { flowStacks } from './stacks/placement';

export interface BuildAppOptions {
  /** Where to write; default is cdktf's (CDKTF_OUTDIR, set by the CLI, else cdktf.out). */
  readonly outdir?: string;
  /** Write `cdk.tf` (HCL) instead of `cdk.tf.json`; default is cdktf's (SYNTH_HCL_OUTPUT, set by `--hcl`). */
  readonly hcl?: boolean;
}

/** Every stack the config enables, in one cdktf App. Nothing is written until `app.synth()`. */
export function buildApp(config: AppConfig, opts: BuildAppOptions = {}): App {
  // cdktf's synth-time validations are the Terraform version checks, which run `terraform version`
  // for every stack with moves, imports or a cloud block (and fail where Terraform is not installed;
  // each stack declares required_version instead, which Terraform enforces), and provider presence,
  // which BaseStack guarantees. The project's own checks run in synthApp, before anything is written.
  const app = new App({ outdir: opts.outdir, hclOutput: opts.hcl, skipValidation: true });
  // cdktf 0.21 stacks read SYNTH_HCL_OUTPUT themselves and ignore App's hclOutput (the file is
  // named cdk.tf but holds JSON). Pass an explicit choice through the variable the CLI itself sets.
  withEnv('SYNTH_HCL_OUTPUT', opts.hcl === undefined ? undefined : String(opts.hcl), () => {
    // The log-archive account's stack first: member stacks read its outputs (organisation).
    if (config.organisation) new ArchiveStack(app, config, config.organisation);
    // One account and one region: the flows' stacks as they always were (stacks/placement.ts).
    for (const { flow, config: c, placement } of flowStacks(config)) {
      if (flow === 'log-rescue') new LogRescueStack(app, c, placement);
      else if (flow === 'session-logs') new SessionLogsStack(app, c, placement);
      else new DemoFleetStack(app, c, placement);
    }
  });
  return app;
}

/** Throws, naming every problem, when a stack breaks the address contract (modules/shared/addresses.ts). */
export function validateApp(app: App): void {
  const problems = app.node.children
    .filter((c): c is TerraformStack => c instanceof TerraformStack)
    .flatMap((stack) => addressProblems(stack).map((p) => `[${stack.node.id}] ${p}`));
  if (problems.length) throw new Error(`The stacks break the Terraform address contract; nothing was written:\n  ${problems.join('\n  ')}`);
}

function withEnv(name: string, value: string | undefined, fn: () => void): void {
  if (value === undefined) return fn();
  const before = process.env[name];
  process.env[name] = value;
  try {
    fn();
  } finally {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  }
}

/**
 * Synthesize, then remove the other format's file a previous synth left in each stack directory:
 * cdktf writes cdk.tf (--hcl) or cdk.tf.json but never deletes the other, and Terraform would load
 * both and fail on every resource declared twice.
 */
export function synthApp(config: AppConfig, opts: BuildAppOptions = {}): App {
  const app = buildApp(config, opts);
  validateApp(app);
  app.synth();
  // Decided the way the stacks decide (they also accept "1"), not by App.hclOutput.
  const hcl = opts.hcl ?? hclOutput();
  const stale = hcl ? 'cdk.tf.json' : 'cdk.tf';
  for (const stack of app.node.children) {
    const dir = path.join(app.outdir, 'stacks', stack.node.id);
    const file = path.join(dir, stale);
    if (existsSync(file)) rmSync(file);
    // cdktf 0.21's HCL renderer drops top-level overrides, and with them the `removed` blocks that
    // keep buckets and keys from being destroyed; Terraform reads a .tf.json beside cdk.tf as well.
    const removed = hcl && stack instanceof TerraformStack ? (stack.toTerraform() as { removed?: unknown[] }).removed : undefined;
    const removedFile = path.join(dir, 'removed.tf.json');
    if (removed?.length) writeFileSync(removedFile, `${JSON.stringify({ removed }, null, 2)}\n`);
    else if (existsSync(removedFile)) rmSync(removedFile);
    // Terraform checks the required_version of every terraform block of every file (BaseStack).
    const versionsFile = path.join(dir, 'versions.tf.json');
    if (hcl && stack instanceof BaseStack) writeFileSync(versionsFile, `${JSON.stringify({ terraform: { required_version: stack.requiredVersion } }, null, 2)}\n`);
    else if (existsSync(versionsFile)) rmSync(versionsFile);
  }
  return app;
}
